import fs from 'fs';
import type { Browser, Page } from 'playwright-core';
import { makeMessage } from '@mailbridge/mail-testkit';
import { startHostApp, signIn, HostApp, hostApi } from '../support/hostApp';
import { chooseOption, germanPage, launchBrowser, screenshot, signInThroughForm, settled, signedInPage } from '../support/browser';
import { startMailPeers, MailPeers } from '../support/mailPeers';

jest.setTimeout(300000);

const alice = { user: 'alice@example.test', password: 'alice-ui-pw-51c0' };



describe('Settings → E-Mail: an admin adds an SMTP/IMAP account in the browser', () => {
  let peers: MailPeers;
  let app: HostApp;
  let browser: Browser;

  beforeAll(async () => {
    peers = await startMailPeers([alice]);
    for (let i = 0; i < 3; i++) {
      await peers.dovecot.deliver(
        alice.user,
        makeMessage(i, { to: alice.user, date: new Date(Date.now() - i * 3600_000) }),
      );
    }
    app = await startHostApp();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await peers?.stop();
  });

  it('picks the provider, fills the form, tests the connection, saves, syncs and sees the account OK', async () => {
    const { page, pageErrors } = await signedInPage(browser, app.url, { width: 1400, height: 1200 });
    await page.goto(`${app.url}/admin/settings/mail`);
    await page.getByTestId('mail-accounts-table').waitFor({ timeout: 60000 });
    await page.getByText('No mail accounts yet').waitFor();

    // Step 1: the six providers
    await page.getByTestId('add-account').click();
    await page.getByTestId('provider-picker').waitFor();
    await expect(page.locator('[data-testid^=provider-card-]').count()).resolves.toBe(6);
    await settled(page, '.ant-drawer-content-wrapper');
    await screenshot(page, '10-add-account-provider');

    // Step 2: only the SMTP/IMAP fields
    await page.getByTestId('provider-card-smtp-imap').click();
    await page.getByTestId('account-form').waitFor();
    for (const section of ['account', 'outgoing', 'incoming', 'sign-in', 'access', 'sync']) {
      await page.getByTestId(`section-${section}`).waitFor();
    }
    await expect(page.getByTestId('section-sending').count()).resolves.toBe(0);
    await expect(page.locator('#settings_smtp_port').inputValue()).resolves.toBe('587');
    await expect(page.locator('#settings_imap_port').inputValue()).resolves.toBe('993');

    // Saving an empty form shows what is missing
    await page.getByTestId('save-account').click();
    await page.getByText('E-mail address is required.').waitFor();
    await page.getByText('Password is required.').waitFor();

    await page.locator('#address').fill('not-an-address');
    await page.locator('#address').blur();
    await page.getByText('Enter a valid e-mail address, such as name@example.com.').waitFor();
    await page.locator('#address').fill(alice.user);
    await page.locator('#title').fill('Alice (support desk)');
    await page.locator('#settings_smtp_host').fill(peers.sink.host);
    await chooseOption(page, 'settings_smtp_security', 'None (unencrypted)');
    await expect(page.locator('#settings_smtp_port').inputValue()).resolves.toBe('25');
    await page.locator('#settings_smtp_port').fill(String(peers.sink.port));
    await page.locator('#settings_imap_host').fill(peers.dovecot.host);
    await chooseOption(page, 'settings_imap_security', 'None (unencrypted)');
    await page.locator('#settings_imap_port').fill(String(peers.dovecot.imapPort));
    await page.locator('#secrets_password').fill(alice.password);
    await page.locator('#address').scrollIntoViewIfNeeded();
    await screenshot(page, '11-add-account-form');

    // Test connection with the unsaved values
    await page.getByTestId('test-connection').click();
    const result = page.locator('[data-testid=test-connection-result][data-state=ok]');
    await result.waitFor({ timeout: 60000 });
    await page.locator('[data-testid=test-step-smtp][data-ok=true]').waitFor();
    await page.locator('[data-testid=test-step-imap][data-ok=true]').waitFor();
    await expect(page.getByTestId('test-step-imap').innerText()).resolves.toContain('INBOX');
    await page.getByText('The connection works.').waitFor();
    await settled(page, '[data-testid=test-connection-result]');
    await screenshot(page, '12-test-connection');

    // Save: the drawer closes and the account is listed
    await page.getByTestId('save-account').click();
    await page.getByText('Account "Alice (support desk)" added.').waitFor();
    await page.getByTestId('account-form').waitFor({ state: 'detached' });
    const row = page.locator('.ant-table-row', { hasText: alice.user });
    await row.waitFor();
    await expect(row.innerText()).resolves.toContain('SMTP/IMAP');

    // Sync now: the status ends up OK and the result is announced
    await row.getByTestId('sync-now').click();
    await page.getByText(/"Alice \(support desk\)" is up to date: \d+ new/).waitFor({ timeout: 60000 });
    await row.locator('[data-testid=account-status][data-status=ok]').waitFor({ timeout: 30000 });
    await expect(row.innerText()).resolves.toMatch(/just now|minute/);
    await page.mouse.move(0, 0);
    await screenshot(page, '13-accounts-ok');

    // Editing shows that a password is stored without ever showing it
    await row.getByText('Edit', { exact: true }).click();
    const password = page.locator('#secrets_password');
    await password.waitFor();
    await expect(password.inputValue()).resolves.toBe('');
    await expect(password.getAttribute('placeholder')).resolves.toBe('Set — leave empty to keep');
    expect(await page.content()).not.toContain(alice.password);

    expect(pageErrors.filter((m) => /plugin-mail|mailbridge/i.test(m))).toEqual([]);
    for (const name of ['10-add-account-provider', '11-add-account-form', '12-test-connection', '13-accounts-ok']) {
      expect(fs.statSync(`${__dirname}/../../storage/screenshots/${name}.png`).size).toBeGreaterThan(10000);
    }
  });

  it('lets an SMTP/IMAP account sign in with Microsoft: redirect URI, Outlook scopes, no password', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
    page.setDefaultTimeout(90000);
    await signInThroughForm(page, app.url);
    await page.goto(`${app.url}/admin/settings/mail`);
    // as in the first test: the list first, so that its loading does not re-render the drawer under the click
    // (seen once in CI on a busy machine: the card was clicked, the form never came)
    await page.getByTestId('mail-accounts-table').waitFor({ timeout: 60000 });
    await page.getByTestId('add-account').click();
    await page.getByTestId('provider-picker').waitFor();
    await settled(page, '.ant-drawer-content-wrapper');
    await page.getByTestId('provider-card-smtp-imap').click();
    await page.getByTestId('account-form').waitFor();
    await page.locator('#secrets_password').waitFor();
    await page.getByTestId('section-sign-in').getByText('Microsoft (OAuth)').click();
    await page.locator('#secrets_password').waitFor({ state: 'detached' });
    const signIn = page.getByTestId('section-sign-in');
    await expect(signIn.getByTestId('redirect-uri').inputValue()).resolves.toBe(`${app.url}/api/mailOAuth:callback`);
    for (const scope of ['IMAP.AccessAsUser.All', 'SMTP.Send', 'offline_access']) {
      await signIn.getByText(scope, { exact: false }).first().waitFor();
    }
    await page.getByTestId('section-microsoft').waitFor();
    await page.getByTestId('section-sign-in').scrollIntoViewIfNeeded();
    await settled(page, '[data-testid=section-sign-in]');
    await screenshot(page, '14-smtp-imap-microsoft-sign-in');
    await page.close();
  });

  it('speaks German once the admin switches the language', async () => {
    const token = await signIn(app.url);
    const res = await fetch(`${app.url}/api/systemSettings:update?filterByTk=1`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ enabledLanguages: ['en-US', 'de-DE', 'zh-CN'] }),
    });
    expect(res.status).toBe(200);

    const { page } = await germanPage(browser, app.url);
    await page.goto(`${app.url}/admin/settings/mail`);
    await page.getByRole('heading', { name: 'E-Mail-Konten' }).waitFor({ timeout: 60000 });
    const row = page.locator('.ant-table-row', { hasText: alice.user });
    await row.getByText('Synchronisieren').waitFor();
    await page.getByRole('button', { name: 'Konto hinzufügen' }).click();
    await page.getByText('Über welchen Dienst läuft dieses Postfach?').waitFor();
    await page.getByTestId('provider-card-smtp-imap').getByText('Empfängt').waitFor();
    const text = await page.innerText('body');
    expect(text).not.toMatch(/\b(provider|status|folder)\.[a-z-]+/);
  });

  it('says in German what failed and what to do, with the server\'s own words beside it', async () => {
    const token = await signIn(app.url);
    const [account] = (await hostApi(app, token, 'GET', 'mailAccounts:list')).data.filter((a: any) => a.address === alice.user);
    await hostApi(app, token, 'POST', `mailAccounts:update?filterByTk=${account.id}`, { secrets: { password: 'not-alices-password' } });
    const synced = await hostApi(app, token, 'POST', `mailAccounts:syncNow?filterByTk=${account.id}`);
    expect(synced.data.error.code).toBe('AUTH_FAILED');

    const { page } = await germanPage(browser, app.url);
    await page.goto(`${app.url}/admin/settings/mail`);
    const row = page.locator('.ant-table-row', { hasText: alice.user });
    const lastError = row.locator('[data-testid=account-last-error][data-code=AUTH_FAILED]');
    await lastError.waitFor();
    await expect(lastError.innerText()).resolves.toBe('Anmeldung abgelehnt');
    await lastError.hover();
    const details = page.getByTestId('account-last-error-details');
    await details.waitFor();
    await expect(details.innerText()).resolves.toMatch(/Prüfen Sie Benutzernamen und Passwort[\s\S]*Authentication failed/);
    await screenshot(page, '15-account-error-de');
    await page.mouse.move(0, 0);

    await row.getByText('Bearbeiten', { exact: true }).click();
    await page.getByTestId('test-connection').click();
    const result = page.locator('[data-testid=test-connection-result][data-state=failed]');
    await result.waitFor({ timeout: 60000 });
    const imap = page.getByTestId('test-step-imap');
    await expect(imap.getByTestId('error-summary').innerText()).resolves.toBe(
      'Anmeldung abgelehnt — Prüfen Sie Benutzernamen und Passwort (oder melden Sie sich neu an).',
    );
    // the details stay as the server gave them, for whoever reads the logs or asks the provider
    await expect(imap.innerText()).resolves.toMatch(/authenticat/i);
    expect(await result.innerText()).not.toContain('not-alices-password');
    await settled(page, '[data-testid=test-connection-result]');
    await screenshot(page, '16-test-connection-error-de');

    await hostApi(app, token, 'POST', `mailAccounts:update?filterByTk=${account.id}`, { secrets: { password: alice.password } });
    await hostApi(app, token, 'POST', `mailAccounts:syncNow?filterByTk=${account.id}`);
    await page.goto(`${app.url}/admin/settings/mail`);
    await row.locator('[data-testid=account-status][data-status=ok]').waitFor();
    await expect(row.getByTestId('account-last-error').count()).resolves.toBe(0);
  });
});
