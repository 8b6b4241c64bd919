import fs from 'fs';
import http from 'http';
import type { AddressInfo } from 'net';
import { simpleParser } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { makeMessage, startDovecot, startSmtpSink, Dovecot, SmtpSink } from '@mailbridge/mail-testkit';
import { freePort, startHostApp, signIn, HostApp, hostApi } from '../support/hostApp';
import { launchBrowser, screenshot, signInThroughForm, settled, signedInPage } from '../support/browser';

jest.setTimeout(600000);

const alice = { user: 'alice@example.test', password: 'alice-inbox-pw-7f3e' };
const bob = { user: 'bob@example.test', password: 'bob-inbox-pw-21aa' };
const member = { email: 'member@example.test', password: 'member-inbox-pw-1' };
const NOBODY = 'nobody@example.test';

// A local web server that counts what the browser asks it for: the tracking pixel and any call a script makes.
interface Beacon {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

async function startBeacon(): Promise<Beacon> {
  const hits: string[] = [];
  const pixel = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  const server = http.createServer((req, res) => {
    hits.push(String(req.url));
    res.writeHead(200, { 'Content-Type': 'image/png', 'Access-Control-Allow-Origin': '*' });
    res.end(pixel);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

function htmlMail(beacon: Beacon): string {
  const html = [
    '<html><head><style>.note{border:1px solid #e5e5e5;padding:8px;background:url(' + beacon.url + '/css-bg.png)}</style></head>',
    '<body onload="fetch(\'' + beacon.url + '/script-onload\')">',
    '<h2>Your order has shipped</h2><p>Hello Alice,</p>',
    '<p>your parcel is on its way. <a href="https://example.com/track">Track it</a> or <a href="javascript:fetch(\'' + beacon.url + '/script-link\')">click here</a>.</p>',
    '<div class="note">Expected delivery: Thursday.</div>',
    '<p><img src="' + beacon.url + '/pixel.png" width="140" height="40" alt="Shop logo"></p>',
    '<script>document.title = "pwned"; fetch("' + beacon.url + '/script-ran");</script>',
    '<img src="x" onerror="fetch(\'' + beacon.url + '/script-onerror\')">',
    '<iframe src="' + beacon.url + '/iframe"></iframe><object data="' + beacon.url + '/object"></object>',
    '<p>Kind regards<br>The Shop</p></body></html>',
  ].join('\n');
  return [
    'From: The Shop <shop@example.test>',
    `To: ${alice.user}`,
    'Subject: Your order has shipped',
    `Date: ${new Date(Date.now() - 60_000).toUTCString()}`,
    'Message-ID: <shipped-1@shop.example.test>',
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    html,
  ].join('\r\n');
}



describe('the Inbox block on a modern page', () => {
  let dovecot: Dovecot;
  let sink: SmtpSink;
  let beacon: Beacon;
  let app: HostApp;
  let browser: Browser;
  let token: string;
  let pagePath = '';
  let accountId = '';

  beforeAll(async () => {
    beacon = await startBeacon();
    dovecot = await startDovecot({ users: [alice, bob] });
    sink = await startSmtpSink({ dovecot, users: [alice, bob], rejectRecipients: [NOBODY] });
    await dovecot.deliver(
      alice.user,
      makeMessage(1, {
        from: 'Bob Miller <bob@example.test>',
        to: alice.user,
        subject: 'Project kickoff on Monday',
        messageId: 'kickoff-1@example.test',
        date: new Date(Date.now() - 3 * 3600_000),
        attachments: [{ filename: 'agenda.txt', content: Buffer.from('1. Welcome\n2. Plan\n'), contentType: 'text/plain' }],
      }),
    );
    for (let i = 2; i < 5; i++) {
      await dovecot.deliver(alice.user, makeMessage(i, { to: alice.user, date: new Date(Date.now() - (i + 3) * 3600_000) }));
    }
    await dovecot.deliver(alice.user, htmlMail(beacon));

    app = await startHostApp();
    browser = await launchBrowser();
    token = await signIn(app.url);
    const account = await hostApi(app, token, 'POST', 'mailAccounts:create', {
      title: 'Alice (support)',
      provider: 'smtp-imap',
      address: alice.user,
      settings: {
        smtp: { host: sink.host, port: sink.port, security: 'none' },
        imap: { host: dovecot.host, port: dovecot.imapPort, security: 'none' },
        sync: { intervalSeconds: 3600 },
      },
      secrets: { password: alice.password },
    });
    accountId = String(account.data.id);
    await hostApi(app, token, 'POST', `mailAccounts:syncNow?filterByTk=${accountId}`);
    await hostApi(app, token, 'POST', 'users:create', { nickname: 'Max Member', email: member.email, password: member.password, roles: ['member'] });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await sink?.close();
    await dovecot?.destroy();
    await beacon?.close();
  });

  it('is added through "Add block", opens a conversation and sends a reply that arrives', async () => {
    const { page, pageErrors } = await signedInPage(browser, app.url, { width: 1440, height: 900 });

    // A new modern page, and the Inbox block from "Add block → Other blocks"
    await page.locator('[aria-label="highlight"]').first().click();
    await page.getByText('Add menu item').hover();
    await page.getByText('Modern page (v2)').click();
    const dialog = page.locator('.ant-modal:visible');
    await dialog.locator('input').first().fill('Mail');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Add block').first().waitFor();
    pagePath = new URL(page.url()).pathname;
    await page.getByText('Add block').first().hover();
    const menu = page.locator('.ant-dropdown:visible');
    await menu.getByText('Other blocks').waitFor();
    await menu.getByText('Inbox', { exact: true }).click();
    await page.getByTestId('inbox-block').waitFor();
    await page.locator('[aria-label="highlight"]').first().click();

    // The list: newest first, unread in bold, attachment icon, the account picker
    const rows = page.getByTestId('mail-row');
    const kickoff = rows.filter({ hasText: 'Project kickoff on Monday' });
    await kickoff.waitFor();
    await expect(page.getByTestId('mail-count').innerText()).resolves.toBe('5 mails');
    await expect(kickoff.getAttribute('data-unread')).resolves.toBe('true');
    await expect(kickoff.getByTestId('mail-row-attachment').count()).resolves.toBe(1);
    await expect(page.getByTestId('inbox-account').innerText()).resolves.toContain('Alice (support)');
    await page.mouse.move(0, 0);
    await screenshot(page, '30-inbox');

    // Search by sender
    await page.getByPlaceholder('Search sender or subject').fill('bob@example');
    await page.getByPlaceholder('Search sender or subject').press('Enter');
    await page.getByTestId('mail-count').getByText('1 found').waitFor();
    await expect(rows.count()).resolves.toBe(1);

    // The conversation
    await rows.first().click();
    const thread = page.getByTestId('thread-view');
    await thread.getByTestId('thread-subject').getByText('Project kickoff on Monday').waitFor();
    await thread.getByText('This is test message 1.').waitFor();
    await thread.getByTestId('attachment').getByText('agenda.txt').waitFor();
    await expect(rows.first().getAttribute('data-unread')).resolves.toBe('false');
    await screenshot(page, '31-thread');

    // Reply
    await thread.getByTestId('reply').click();
    const drawer = page.getByTestId('compose-form');
    await drawer.waitFor();
    await expect(page.getByTestId('compose-subject').inputValue()).resolves.toBe('Re: Project kickoff on Monday');
    await expect(page.getByTestId('compose-to').innerText()).resolves.toContain('bob@example.test');
    const body = page.getByTestId('compose-text');
    await expect(body.inputValue()).resolves.toContain('Bob Miller <bob@example.test> wrote:');
    await body.fill(`Thanks Bob, I will be there.${await body.inputValue()}`);
    await settled(page, '.ant-drawer-content-wrapper');
    await screenshot(page, '32-compose');
    await page.getByTestId('compose-send').click();
    await page.getByText('Mail sent.').waitFor();

    const [reply] = await sink.waitFor(1, 30000);
    const raw = reply.raw.toString('utf8');
    expect(reply.to).toEqual([bob.user]);
    expect(raw).toMatch(/^Subject: Re: Project kickoff on Monday/m);
    expect(raw).toMatch(/^In-Reply-To: <kickoff-1@example\.test>/m);
    expect(raw).toMatch(/^References: .*<kickoff-1@example\.test>/m);
    expect(raw).toContain('Thanks Bob, I will be there.');
    // delivered into Bob's mailbox
    const delivered = fs
      .readdirSync(`${dovecot.dir}/mail`, { recursive: true } as any)
      .map(String)
      .filter((p) => p.includes('bob') && /\/(new|cur)\/[^/]+$/.test(p));
    expect(delivered.length).toBeGreaterThanOrEqual(1);

    // Forward Bob's mail (the thread's newest is now the reply): its file is in the list and goes along, read from
    // the mailbox, beside one uploaded here
    const bobsMail = thread.getByTestId('thread-message').first();
    await expect(bobsMail.innerText()).resolves.toContain('Bob Miller');
    if ((await bobsMail.getAttribute('data-expanded')) !== 'true') await bobsMail.getByRole('button').first().click();
    // the pointer off the page header first: a header menu it opened would lie over the card's "More" button
    await page.mouse.move(700, 600);
    await page.waitForFunction(() => !document.querySelector('.ant-dropdown:not(.ant-dropdown-hidden)'));
    await bobsMail.getByLabel('More').click();
    await page.locator('.ant-dropdown:visible').getByText('Forward').click();
    await page.getByTestId('compose-title').getByText('Forward').waitFor();
    await expect(page.getByTestId('compose-subject').inputValue()).resolves.toBe('Fwd: Project kickoff on Monday');
    const fileList = page.locator('.ant-drawer .ant-upload-list');
    await fileList.getByText('agenda.txt').waitFor();
    await page.locator('.ant-drawer input[type=file]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Bring the slides.') });
    await fileList.getByText('notes.txt').waitFor();
    await page.getByTestId('compose-to').click();
    await page.keyboard.type('bob@example.test');
    await page.keyboard.press('Enter');
    await page.getByTestId('compose-text').press('Control+Home');
    await page.keyboard.type('Bob, the agenda again, and my notes.');
    await settled(page, '.ant-drawer-content-wrapper');
    await screenshot(page, '38-forward');
    await page.getByTestId('compose-send').click();
    await page.getByText('Mail sent.').waitFor();
    const [, forwarded] = await sink.waitFor(2, 30000);
    const parsed = await simpleParser(forwarded.raw);
    expect(parsed.subject).toBe('Fwd: Project kickoff on Monday');
    expect(parsed.text).toContain('Bob, the agenda again, and my notes.');
    expect(parsed.text).toContain('This is test message 1.');
    expect(parsed.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([
      ['agenda.txt', '1. Welcome\n2. Plan\n'],
      ['notes.txt', 'Bring the slides.'],
    ]);

    expect(pageErrors.filter((m) => /plugin-mail|mailbridge/i.test(m))).toEqual([]);
  });

  it('shows HTML mail sanitized in a sandbox, with remote images blocked until "Show images"', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(90000);
    await signInThroughForm(page, app.url);
    await page.goto(`${app.url}${pagePath}`);
    await page.getByTestId('mail-row').filter({ hasText: 'Your order has shipped' }).click();
    const title = await page.title();
    expect(title).not.toBe('pwned');
    const frame = page.getByTestId('mail-body-frame');
    await frame.waitFor();
    await expect(frame.getAttribute('sandbox')).resolves.toBe('allow-popups allow-popups-to-escape-sandbox');
    const srcdoc = String(await frame.getAttribute('srcdoc'));
    expect(srcdoc).toContain("Content-Security-Policy");
    expect(srcdoc).toContain("default-src 'none'; img-src data:;");
    expect(srcdoc).not.toMatch(/<script|onload=|onerror=|javascript:|<iframe|<object/i);
    expect(srcdoc).not.toContain(beacon.url);
    const content = page.frameLocator('[data-testid=mail-body-frame]');
    await content.getByText('Expected delivery: Thursday.').waitFor();
    await page.getByTestId('remote-images-blocked').waitFor();
    await page.waitForTimeout(1500);
    expect(beacon.hits).toEqual([]);
    expect(await page.title()).toBe(title);
    await page.mouse.move(0, 0);
    await screenshot(page, '33-blocked-images');

    await page.getByTestId('show-images').click();
    await page.locator('[data-testid=mail-body-frame][data-remote=allowed]').waitFor();
    await content.getByText('Expected delivery: Thursday.').waitFor();
    for (let i = 0; i < 50 && !beacon.hits.includes('/pixel.png'); i++) await page.waitForTimeout(100);
    expect(beacon.hits).toContain('/pixel.png');
    await page.waitForTimeout(500);
    expect(beacon.hits.filter((h) => h.startsWith('/script') || h === '/iframe' || h === '/object')).toEqual([]);
    expect(await page.title()).toBe(title);
  });

  it('lists mails that did not go out in the Outbox, sends one again and discards another', async () => {
    // one refused for a wrong password (fixed afterwards), one refused by the server for its recipient
    await hostApi(app, token, 'POST', `mailAccounts:update?filterByTk=${accountId}`, { secrets: { password: 'wrong-password' } });
    const refused = await hostApi(app, token, 'POST', 'mailMessages:send', { accountId, to: [bob.user], subject: 'Quarterly figures', text: 'Here they are.' });
    expect(refused.data.state).toBe('failed');
    await hostApi(app, token, 'POST', `mailAccounts:update?filterByTk=${accountId}`, { secrets: { password: alice.password } });
    const bounced = await hostApi(app, token, 'POST', 'mailMessages:send', { accountId, to: [NOBODY], subject: 'To a typo', text: 'x' });
    expect(bounced.data.state).toBe('failed');
    const sentBefore = sink.received.length;

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(90000);
    await signInThroughForm(page, app.url);
    await page.goto(`${app.url}${pagePath}`);
    const outboxFolder = page.getByTestId('folder-outbox');
    await outboxFolder.getByTestId('outbox-badge').getByText('2').waitFor();
    await outboxFolder.click();
    const rows = page.getByTestId('outbox-row');
    await rows.nth(1).waitFor();
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))).toEqual(['failed', 'failed']);
    const figures = rows.filter({ hasText: 'Quarterly figures' });
    const typo = rows.filter({ hasText: 'To a typo' });
    await expect(figures.getByTestId('outbox-error').innerText()).resolves.toMatch(/authentication|password|credentials/i);
    await expect(typo.getByTestId('outbox-error').innerText()).resolves.toMatch(/rejected/i);
    await page.mouse.move(0, 0);
    await screenshot(page, '34-outbox-failed');

    await figures.getByTestId('outbox-retry').click();
    await page.getByText('Mail sent.').waitFor();
    const [again] = await sink.waitFor(sentBefore + 1, 30000).then((all) => all.slice(sentBefore));
    expect(again.raw.toString('utf8')).toContain(`<${refused.data.messageId.replace(/^<|>$/g, '')}>`);
    expect(again.to).toEqual([bob.user]);
    await figures.waitFor({ state: 'detached' });
    await outboxFolder.getByTestId('outbox-badge').getByText('1').waitFor();

    await typo.getByTestId('outbox-discard').click();
    await page.locator('.ant-popconfirm:visible').getByRole('button', { name: 'Discard' }).click();
    await page.getByTestId('outbox-empty').waitFor();
    // the folder counts reload after the list: wait for the badge to go rather than reading it at once
    await outboxFolder.getByTestId('outbox-badge').waitFor({ state: 'detached' });
    await page.mouse.move(0, 0);
    await screenshot(page, '35-outbox-empty');
    expect(sink.received.length).toBe(sentBefore + 1);
    const list = await hostApi(app, token, 'GET', `mailOutbox:list?accountId=${accountId}`);
    expect(list.data).toEqual([]);

    // the SMTP server cannot be reached: the mail waits for its next attempt, says why, and can be dropped
    const settingsWith = (smtpPort: number) => ({
      smtp: { host: sink.host, port: smtpPort, security: 'none' },
      imap: { host: dovecot.host, port: dovecot.imapPort, security: 'none' },
      sync: { intervalSeconds: 3600 },
    });
    const closedPort = await freePort();
    await hostApi(app, token, 'POST', `mailAccounts:update?filterByTk=${accountId}`, { settings: settingsWith(closedPort) });
    try {
      const waiting = await hostApi(app, token, 'POST', 'mailMessages:send', { accountId, to: [bob.user], subject: 'While the server is away', text: 'x' });
      expect(waiting.data).toMatchObject({ state: 'queued', attempts: 1, errorCode: 'HOST_UNREACHABLE' });
      await page.reload();
      await outboxFolder.click();
      const row = page.locator('[data-testid=outbox-row][data-state=queued]');
      await expect(row.getByTestId('outbox-error').innerText()).resolves.toMatch(new RegExp(`^Server not reachable: .*:${closedPort}`));
      await row.getByText(/Attempt 1 failed; next attempt/).waitFor();
      await page.mouse.move(0, 0);
      await screenshot(page, '36-outbox-waiting');
      await row.getByTestId('outbox-discard').click();
      await page.locator('.ant-popconfirm:visible').getByRole('button', { name: 'Discard' }).click();
      await page.getByTestId('outbox-empty').waitFor();
    } finally {
      await hostApi(app, token, 'POST', `mailAccounts:update?filterByTk=${accountId}`, { settings: settingsWith(sink.port) });
    }

    // sent from the compose drawer and refused: the drawer stays open with what failed and the server's words
    await hostApi(app, token, 'POST', `mailAccounts:update?filterByTk=${accountId}`, { secrets: { password: 'wrong-password' } });
    try {
      await page.getByTestId('inbox-compose').click();
      await page.getByTestId('compose-to').click();
      await page.keyboard.type(bob.user);
      await page.keyboard.press('Enter');
      await page.getByTestId('compose-subject').fill('Sent with a stale password');
      await page.getByTestId('compose-text').fill('x');
      await page.getByTestId('compose-send').click();
      const composeError = page.getByTestId('compose-error');
      await expect(composeError.innerText()).resolves.toMatch(/Sign-in refused: .*(authentication|credentials)/i);
      await page.getByTestId('compose-form').waitFor();
      await page.mouse.move(0, 0);
      await screenshot(page, '37-compose-refused');
      const [stale] = (await hostApi(app, token, 'GET', `mailOutbox:list?accountId=${accountId}`)).data;
      expect(stale).toMatchObject({ subject: 'Sent with a stale password', state: 'failed', errorCode: 'AUTH_FAILED' });
    } finally {
      await hostApi(app, token, 'POST', `mailAccounts:update?filterByTk=${accountId}`, { secrets: { password: alice.password } });
    }
    // Send again from the same drawer: the failed try is replaced, not left in the Outbox to be sent a second time
    await page.getByTestId('compose-send').click();
    await page.getByText('Mail sent.').waitFor();
    await page.getByTestId('compose-form').waitFor({ state: 'detached' });
    const [resent] = await sink.waitFor(sentBefore + 2, 30000).then((all) => all.slice(sentBefore + 1));
    expect(resent.raw.toString('utf8')).toContain('Sent with a stale password');
    expect((await hostApi(app, token, 'GET', `mailOutbox:list?accountId=${accountId}`)).data).toEqual([]);
    expect(sink.received.length).toBe(sentBefore + 2);
  });

  it('files what a send-only account sends in its Sent folder, where the attachment can be opened', async () => {
    const smtpOnly = await hostApi(app, token, 'POST', 'mailAccounts:create', {
      title: 'Invoices (SMTP only)',
      provider: 'smtp',
      address: 'invoices@example.test',
      settings: { smtp: { host: sink.host, port: sink.port, security: 'none', user: alice.user } },
      secrets: { password: alice.password },
    });
    const { page, pageErrors } = await signedInPage(browser, app.url, { width: 1440, height: 900 });
    await page.goto(`${app.url}${pagePath}`);
    await page.getByTestId('mail-row').first().waitFor();
    await page.getByTestId('inbox-account').click();
    await page.locator('.ant-select-dropdown:visible').getByText('Invoices (SMTP only)').click();
    // nothing synced, nothing sent: just Sent and the Outbox, no Inbox to wait for
    await page.getByTestId('folder-Sent').waitFor();
    await expect(page.getByTestId('folder-INBOX').count()).resolves.toBe(0);

    const invoice = Buffer.from('%PDF-1.4\n' + 'Invoice 2026-117 '.repeat(200));
    await page.getByTestId('inbox-compose').click();
    const to = page.getByTestId('compose-to').locator('input');
    await to.fill(bob.user);
    await to.press('Enter');
    await page.getByTestId('compose-subject').fill('Invoice 2026-117');
    await page.getByTestId('compose-text').fill('Please find the invoice attached.');
    await page.locator('.ant-drawer input[type=file]').setInputFiles({ name: 'Invoice 2026-117.pdf', mimeType: 'application/pdf', buffer: invoice });
    await page.getByTestId('compose-send').click();
    await page.getByText('Mail sent.').waitFor();

    const row = page.getByTestId('mail-row').filter({ hasText: 'Invoice 2026-117' });
    await row.waitFor();
    await expect(page.getByTestId('mail-count').innerText()).resolves.toBe('1 mail');
    await row.click();
    const thread = page.getByTestId('thread-view');
    const file = thread.getByTestId('attachment').filter({ hasText: 'Invoice 2026-117.pdf' });
    await file.waitFor();
    await expect(thread.locator('.ant-avatar').first().innerText()).resolves.toBe('IS');
    await page.mouse.move(700, 700);
    await screenshot(page, '39-send-only-sent');
    const [download] = await Promise.all([page.waitForEvent('download'), file.click()]);
    expect(download.suggestedFilename()).toBe('Invoice 2026-117.pdf');
    expect(fs.readFileSync(await download.path()).equals(invoice)).toBe(true);
    expect(pageErrors.filter((m) => /plugin-mail|mailbridge/i.test(m))).toEqual([]);
    await page.close();
    await hostApi(app, token, 'POST', `mailAccounts:destroy?filterByTk=${smtpOnly.data.id}`);
  });

  it('shows a member who is not assigned to the account none of its mail', async () => {
    const memberToken = await signIn(app.url, member.email, member.password);
    const list = await hostApi(app, memberToken, 'GET', 'mailMessages:list?pageSize=50');
    expect(list.data).toEqual([]);
    const accounts = await hostApi(app, memberToken, 'GET', 'mailAccounts:listUsable');
    expect(accounts.data).toEqual([]);

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(90000);
    await signInThroughForm(page, app.url, member.email, member.password);
    await page.goto(`${app.url}${pagePath}`);
    await page.getByTestId('inbox-no-accounts').waitFor();
    expect(await page.getByTestId('mail-row').count()).toBe(0);
    expect(await page.innerText('body')).not.toContain('Project kickoff');
  });
});
