import fs from 'fs';
import type { Browser } from 'playwright-core';
import { makeMessage } from '@mailbridge/mail-testkit';
import { startHostApp, signIn, HostApp, hostApi } from '../support/hostApp';
import { chooseOption, germanPage, launchBrowser, screenshot, settled, signInThroughForm, trackWrites, signedInPage } from '../support/browser';
import { startMailPeers, MailPeers } from '../support/mailPeers';

jest.setTimeout(600000);

const alice = { user: 'alice@example.test', password: 'alice-linking-pw-93d1' };
const karl = 'karl@kunde.test';
const olga = 'olga@kunde.test';


describe('linking rules in the account settings, and the mail history of a record', () => {
  let peers: MailPeers;
  let app: HostApp;
  let browser: Browser;
  let token: string;
  let accountId: string;
  let caseId: string;
  let closedCaseId: string;

  beforeAll(async () => {
    peers = await startMailPeers([alice]);
    app = await startHostApp();
    browser = await launchBrowser();
    token = await signIn(app.url);
    // The business collection mail is filed on: cases with a title and the customer's e-mail address.
    await hostApi(app, token, 'POST', 'collections:create', {
      name: 'cases',
      title: 'Cases',
      fields: [
        {
          name: 'title',
          type: 'string',
          interface: 'input',
          uiSchema: { type: 'string', title: 'Title', 'x-component': 'Input' },
        },
        {
          name: 'email',
          type: 'string',
          interface: 'email',
          uiSchema: { type: 'string', title: 'Customer e-mail', 'x-component': 'Input', 'x-validator': 'email' },
        },
        {
          name: 'status',
          type: 'string',
          interface: 'select',
          uiSchema: {
            type: 'string',
            title: 'Status',
            'x-component': 'Select',
            enum: [
              { value: 'open', label: 'Open' },
              { value: 'closed', label: 'Closed' },
            ],
          },
        },
      ],
    });
    const created = await hostApi(app, token, 'POST', 'cases:create', { title: 'Heating failure', email: karl, status: 'open' });
    caseId = String(created.data.id);
    // Karl's earlier case, closed: the rule's "only records where" keeps his new mail off it
    const closed = await hostApi(app, token, 'POST', 'cases:create', { title: 'Old boiler', email: karl, status: 'closed' });
    closedCaseId = String(closed.data.id);
    const account = await hostApi(app, token, 'POST', 'mailAccounts:create', {
      ...peers.accountValues(alice),
      title: 'Support desk',
    });
    accountId = String(account.data.id);
    await hostApi(app, token, 'POST', `mailAccounts:syncNow?filterByTk=${accountId}`);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await peers?.stop();
  });

  it('an admin sets up a linking rule, saves it, sees it again, and incoming mail is filed by it', async () => {
    const { page, pageErrors } = await signedInPage(browser, app.url, { width: 1400, height: 1300 });
    await page.goto(`${app.url}/admin/settings/mail`);
    const row = page.locator('.ant-table-row', { hasText: alice.user });
    await row.getByText('Edit', { exact: true }).click();
    await page.getByTestId('account-form').waitFor();
    const linking = page.getByTestId('section-linking');
    await linking.waitFor();
    await linking.getByTestId('linking-no-collections').waitFor();
    // the server's defaults: 20 per sender and hour, subject grouping off
    await expect(page.locator('#settings_linking_maxPerSenderPerHour').inputValue()).resolves.toBe('20');
    await expect(page.locator('#settings_linking_fuzzyThreadWindowDays').inputValue()).resolves.toBe('0');

    // A collection, picked from the app's collections, with its e-mail field picked from its fields
    await linking.getByTestId('linking-add-collection').click();
    await chooseOption(page, 'settings_linking_collections_0_name', 'Cases (cases)');
    await chooseOption(page, 'settings_linking_collections_0_emailFields', 'Customer e-mail (email)');
    await page.locator('#settings_linking_collections_0_name').blur();
    // Only open cases are found by the customer's address
    await linking.getByTestId('open-filter').getByText('Every record').waitFor();
    await linking.getByTestId('open-filter-add').click();
    await chooseOption(page, 'settings_linking_collections_0_openFilter_field_0', 'Status');
    await expect(page.getByTestId('open-filter-operator-0').innerText()).resolves.toBe('is not');
    await chooseOption(page, 'settings_linking_collections_0_openFilter_value_0', 'Closed');

    // Agent address with a live plus-address example, subject token with a live example
    await page.locator('#settings_linking_agentAddress').fill(alice.user);
    await expect(page.getByTestId('linking-agent-hint').innerText()).resolves.toContain('alice+cases-17@example.test');
    await page.getByTestId('linking-subject-token-switch').click();
    await expect(page.getByTestId('linking-subject-format').inputValue()).resolves.toBe('[#{id}]');
    await expect(page.getByTestId('linking-subject-example').innerText()).resolves.toContain('[#17]');
    await page.getByTestId('linking-subject-format').fill('[Case {id}]');
    await expect(page.getByTestId('linking-subject-example').innerText()).resolves.toContain('[Case 17]');

    // New records from mail to the agent address: subject -> title, sender -> e-mail
    await page.getByTestId('linking-forward-switch').click();
    await expect(page.getByTestId('section-linking-create').innerText()).resolves.toContain('Cases (cases)');
    await chooseOption(page, 'settings_linking_createByForward_map_subject', 'Title (title)');
    await chooseOption(page, 'settings_linking_createByForward_map_fromAddress', 'Customer e-mail (email)');
    await page.locator('#settings_linking_maxPerSenderPerHour').fill('5');
    await page.mouse.move(0, 0);
    await linking.scrollIntoViewIfNeeded();
    await screenshot(page, '40-linking-rules');

    await page.getByTestId('save-account').click();
    await page.getByText('Account "Support desk" saved.').waitFor();
    await page.getByTestId('account-form').waitFor({ state: 'detached' });

    // What the server stored
    const stored = (await hostApi(app, token, 'GET', `mailAccounts:get?filterByTk=${accountId}`)).data;
    expect(stored.settings.linking).toEqual({
      collections: [{ name: 'cases', emailFields: ['email'], openFilter: { $and: [{ status: { $ne: 'closed' } }] } }],
      agentAddress: alice.user,
      subjectToken: { format: '[Case {id}]' },
      createByForward: { collection: 'cases', fieldMap: { title: 'subject', email: 'fromAddress' } },
      fuzzyThreadWindowDays: 0,
      importHistory: false,
      maxPerSenderPerHour: 5,
    });
    // the rest of the account is untouched
    expect(stored.settings.imap.port).toBe(peers.dovecot.imapPort);
    expect(stored.secretsSet).toEqual({ password: true });

    // Reopened, the form shows the saved rule
    await row.getByText('Edit', { exact: true }).click();
    await page.getByTestId('account-form').waitFor();
    const rule = page.getByTestId('linking-collection-0');
    await rule.waitFor();
    // (the labels come with the app's collections and fields)
    await rule.getByText('Cases (cases)').waitFor();
    await rule.getByText('Customer e-mail (email)').waitFor();
    await expect(rule.getByTestId('open-filter-condition-0').innerText()).resolves.toMatch(/Status[\s\S]*is not[\s\S]*Closed/);
    await expect(page.locator('#settings_linking_agentAddress').inputValue()).resolves.toBe(alice.user);
    await expect(page.getByTestId('linking-subject-format').inputValue()).resolves.toBe('[Case {id}]');
    await page.getByTestId('section-linking-create').getByText('Title (title)').waitFor();
    await expect(page.locator('#settings_linking_maxPerSenderPerHour').inputValue()).resolves.toBe('5');
    await page.getByTestId('section-linking').scrollIntoViewIfNeeded();
    await settled(page, '.ant-drawer-content-wrapper');
    await page.mouse.move(0, 0);
    await screenshot(page, '41-linking-reopened');
    await page.keyboard.press('Escape');
    await page.getByTestId('account-form').waitFor({ state: 'detached' });

    // Incoming mail: the customer's reply carries the case's subject token; a new customer starts a case.
    const deliver = (n: number, from: string, subject: string, messageId: string, minutesAgo: number) =>
      peers.dovecot.deliver(
        alice.user,
        makeMessage(n, { from, to: alice.user, subject, messageId, date: new Date(Date.now() - minutesAgo * 60_000) }),
      );
    await deliver(1, `Karl Kunde <${karl}>`, `Re: Heating still cold [Case ${caseId}]`, 'heating-2@kunde.test', 10);
    await deliver(2, `Olga Neu <${olga}>`, 'Printer does not print', 'printer-1@kunde.test', 5);
    // no token: filed by Karl's address, on his open case only
    await deliver(3, `Karl Kunde <${karl}>`, 'Question about my invoice', 'invoice-1@kunde.test', 3);
    await hostApi(app, token, 'POST', `mailAccounts:syncNow?filterByTk=${accountId}`);
    const links = (await hostApi(app, token, 'GET', `mailLinks:list?collection=cases&recordId=${caseId}`)).data;
    expect(links.map((l: any) => [l.lastMessage?.subject, l.link?.linkedBy])).toEqual([
      ['Question about my invoice', 'participant'],
      [`Re: Heating still cold [Case ${caseId}]`, 'subject-token'],
    ]);
    expect((await hostApi(app, token, 'GET', `mailLinks:list?collection=cases&recordId=${closedCaseId}`)).data).toEqual([]);
    const cases = (await hostApi(app, token, 'GET', 'cases:list?sort=id')).data;
    expect(cases.map((c: any) => [c.title, c.email])).toEqual([
      ['Heating failure', karl],
      ['Old boiler', karl],
      ['Printer does not print', olga],
    ]);

    expect(pageErrors.filter((m) => /plugin-mail|mailbridge/i.test(m))).toEqual([]);
    for (const name of ['40-linking-rules', '41-linking-reopened']) {
      expect(fs.statSync(`${__dirname}/../../storage/screenshots/${name}.png`).size).toBeGreaterThan(10000);
    }
  });

  it('a Mail history block added to the "View" popup of a cases table lists the record’s conversations', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(90000);
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const writes = trackWrites(page);
    await signInThroughForm(page, app.url);
    const dropdown = page.locator('.ant-dropdown:visible');
    const submenu = page.locator('.ant-dropdown-menu-submenu-popup:visible');

    // A modern page with a table block of cases, as a NocoBase admin builds it in the UI editor
    await page.locator('[aria-label="highlight"]').first().click();
    await page.getByText('Add menu item').hover();
    await page.getByText('Modern page (v2)').click();
    const dialog = page.locator('.ant-modal:visible');
    await dialog.locator('input').first().fill('Cases');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Add block').first().hover();
    await dropdown.getByText('Table', { exact: true }).hover();
    await submenu.getByText('Cases', { exact: true }).click();
    await page.getByText('Fields', { exact: true }).hover();
    await dropdown.getByText('Title', { exact: true }).click();
    await dropdown.getByText('Customer e-mail', { exact: true }).click();
    await page.mouse.move(700, 700);
    await dropdown.waitFor({ state: 'detached' }).catch(() => undefined);
    // the row action "View" from the actions column's "+"
    const actionsHeader = page.locator('th', { hasText: 'Actions' });
    await actionsHeader.hover();
    const headerBox = (await actionsHeader.boundingBox())!;
    const plus = page.locator('[aria-label=plus]:visible');
    let added = false;
    for (let i = 0; i < (await plus.count()) && !added; i++) {
      const box = await plus.nth(i).boundingBox();
      if (box && box.y >= headerBox.y - 20 && box.y <= headerBox.y + headerBox.height) {
        await plus.nth(i).hover();
        added = true;
      }
    }
    expect(added).toBe(true);
    await dropdown.getByText('View', { exact: true }).first().click();
    await page.mouse.move(700, 700);
    const caseRow = page.locator('.ant-table-row', { hasText: 'Heating failure' });
    const pagePath = new URL(page.url()).pathname;

    // The popup: the record's details, then "Add block → Other blocks → Mail history"
    await writes.idle();
    await caseRow.getByText('View', { exact: true }).click();
    const popup = page.locator('.ant-drawer:visible').last();
    await popup.getByText('Add block').first().hover();
    await dropdown.getByText('Details', { exact: true }).hover();
    await submenu.getByText('Current record', { exact: true }).click();
    await popup.getByText('Fields', { exact: true }).last().hover();
    await dropdown.getByText('Title', { exact: true }).click();
    await dropdown.getByText('Customer e-mail', { exact: true }).click();
    await page.mouse.move(300, 700);
    await dropdown.waitFor({ state: 'detached' }); // the fields menu has closed
    await popup.getByText('Add block').last().hover();
    await dropdown.getByText('Mail history', { exact: true }).click();
    await popup
      .getByTestId('mail-history')
      .waitFor()
      .catch(async (e) => {
        await screenshot(page, 'failed-mail-history-popup'); // what the popup showed instead
        throw e;
      });
    await writes.idle(); // the UI editor saves the blocks in the background

    // As a user sees it: the page loaded afresh, the UI editor switched off, the row's popup opened
    await page.goto(`${app.url}${pagePath}`);
    await page.locator('.ant-table-row').first().waitFor();
    await page.locator('[aria-label="highlight"]').first().click();
    await page.getByText('Add block').first().waitFor({ state: 'detached' });
    await writes.idle();
    await page.goto(`${app.url}${pagePath}`);
    await caseRow.waitFor();
    await caseRow.getByText('View', { exact: true }).click();
    const history = page.locator('.ant-drawer:visible').last().getByTestId('mail-history');
    await history.waitFor();
    await expect(history.getAttribute('data-collection')).resolves.toBe('cases');
    await expect(history.getAttribute('data-record-id')).resolves.toBe(caseId);
    const thread = history.getByTestId('history-thread');
    await thread.filter({ hasText: 'Heating still cold' }).waitFor();
    await thread.filter({ hasText: 'Question about my invoice' }).waitFor();
    await expect(thread.count()).resolves.toBe(2);
    await expect(thread.filter({ hasText: 'Heating still cold' }).innerText()).resolves.toContain('Karl Kunde');
    await expect(page.locator('.ant-drawer:visible').last().innerText()).resolves.toContain(karl);
    await settled(page, '.ant-drawer-content-wrapper');
    await page.mouse.move(0, 0);
    await screenshot(page, '42-record-mail-history');

    // The conversation opens from the history
    await thread.filter({ hasText: 'Heating still cold' }).click();
    const view = page.getByTestId('thread-view');
    await view.getByText('This is test message 1.').waitFor();
    await settled(page, '.ant-drawer-content-wrapper >> nth=-1');
    await screenshot(page, '43-record-mail-thread');

    expect(pageErrors.filter((m) => /plugin-mail|mailbridge/i.test(m))).toEqual([]);
  });

  it('shows the linking rules in German', async () => {
    await hostApi(app, token, 'POST', 'systemSettings:update?filterByTk=1', {
      enabledLanguages: ['en-US', 'de-DE', 'zh-CN'],
    });
    const { page } = await germanPage(browser, app.url, { width: 1400, height: 1300 });
    await page.goto(`${app.url}/admin/settings/mail`);
    const row = page.locator('.ant-table-row', { hasText: alice.user });
    await row.getByText('Bearbeiten', { exact: true }).click();
    const linking = page.getByTestId('section-linking');
    await linking.getByText('Zuordnung zu Datensätzen').waitFor();
    await linking.getByText('Cases (cases)').waitFor();
    await expect(linking.innerText()).resolves.toContain('Tabelle hinzufügen');
    await expect(linking.innerText()).resolves.toContain('Beispiel');
    await expect(linking.innerText()).resolves.toContain('Nur Datensätze, bei denen');
    await expect(linking.getByTestId('open-filter-condition-0').innerText()).resolves.toContain('ist nicht');
    await expect(page.getByTestId('section-linking-create').innerText()).resolves.toContain('Adresse des Absenders');
    await expect(page.getByTestId('section-linking-limits').innerText()).resolves.toContain('pro Stunde');
    const text = await page.getByTestId('account-form').innerText();
    for (const english of ['Linking to records', 'Add collection', 'Token field', "Sender's address", 'per hour']) {
      expect(text).not.toContain(english);
    }
    await linking.scrollIntoViewIfNeeded();
    await settled(page, '.ant-drawer-content-wrapper');
    await page.mouse.move(0, 0);
    await screenshot(page, '44-linking-de');
  });
});
