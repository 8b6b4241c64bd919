import type { Browser, Page } from 'playwright-core';
import { startSmtpSink, SmtpSink } from '@mailbridge/mail-testkit';
import { startHostApp, signIn, HostApp, hostApi } from '../support/hostApp';
import { launchBrowser, screenshot, signInThroughForm, settled } from '../support/browser';

jest.setTimeout(300000);

// The workflow editor of the legacy client: an admin adds "E-Mail senden" through the add-node menu, fills it in
// (account, recipient, a subject with a variable, body), saves, and the node's config is what the server step reads.



/** Picks a variable in the cascader the "x" button of a workflow variable input opens, e.g. ['$context', 'data', 'nickname']. */
async function pickVariable(page: Page, container: string, path: string[]) {
  await page.locator(`${container} .nb-variable-hybrid-input button`).first().click();
  for (let i = 1; i <= path.length; i++) {
    const key = path.slice(0, i).join('__RC_CASCADER_SPLIT__');
    await cascaderItem(page, key).click();
  }
}

// Each variable input has its own cascader popup; a closed one stays in the page, hidden.
function cascaderItem(page: Page, key: string) {
  return page.locator(`.ant-cascader-menu-item[data-path-key="${key}"]:visible`);
}

/** The first load of a fresh app (all plugin bundles) can take long on a busy machine. */
async function signInFirst(page: Page, url: string) {
  await page.goto(`${url}/signin`);
  await page.getByPlaceholder('Username/Email').waitFor({ timeout: 120000 });
  await signInThroughForm(page, url);
}

function workflowPath(id: string | number) {
  return `/admin/settings/workflow/workflows/${id}`;
}

const api = async (app: HostApp, token: string, method: 'GET' | 'POST', path: string, body?: unknown) =>
  (await hostApi(app, token, method, path, body))?.data;

describe('Workflow editor: "E-Mail senden" and "E-Mail received"', () => {
  let sink: SmtpSink;
  let app: HostApp;
  let browser: Browser;
  let token: string;
  let account: any;

  beforeAll(async () => {
    sink = await startSmtpSink();
    app = await startHostApp();
    browser = await launchBrowser();
    token = await signIn(app.url);
    account = await api(app, token, 'POST', 'mailAccounts:create', {
      title: 'Support desk',
      provider: 'smtp',
      address: 'support@example.test',
      aliases: ['help@example.test'],
      enabled: true,
      settings: { smtp: { host: sink.host, port: sink.port, security: 'none' } },
      secrets: { password: 'unused-by-the-sink' },
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await sink?.close();
  });

  let workflow: any;
  let nodeId: string | number;

  it('adds the node through the add-node menu, fills it, saves and reopens it with the saved values', async () => {
    workflow = await api(app, token, 'POST', 'workflows:create', {
      title: 'Welcome mail',
      type: 'collection',
      sync: false,
      enabled: false,
      config: { mode: 1, collection: 'users' },
    });

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await signInFirst(page, app.url);
    await page.goto(`${app.url}${workflowPath(workflow.id)}`);

    // The add-node menu lists the step in its own "E-Mail" group, with its mail icon
    const add = page.locator('button[aria-label="add-button"]').first();
    await add.waitFor({ timeout: 60000 });
    await add.click();
    const menuItem = page.locator('.ant-menu-item[aria-label="mailbridgeSend"]');
    await menuItem.waitFor();
    await expect(menuItem.innerText()).resolves.toContain('Send e-mail');
    await expect(menuItem.locator('.anticon-mail').count()).resolves.toBe(1);
    await settled(page, '.ant-drawer-content-wrapper');
    await screenshot(page, '20-workflow-node-menu');
    await menuItem.click();

    // The node is on the canvas; open its configuration
    const card = page.locator('.workflow-node-meta').filter({ hasText: 'Send e-mail' }).first();
    await card.waitFor({ timeout: 30000 });
    const nodes = await api(app, token, 'GET', `flow_nodes:list?filter=${encodeURIComponent(JSON.stringify({ workflowId: workflow.id }))}`);
    expect(nodes).toHaveLength(1);
    expect(nodes[0].type).toBe('mailbridgeSend');
    nodeId = nodes[0].id;
    await card.click();
    const form = page.locator('[data-testid=mailbridge-send-fieldset]');
    await form.waitFor();

    // Account: "title <address>"; From then offers the address and the alias
    await page.locator('[data-testid=mail-account-select]').click();
    await page.locator('.ant-select-item-option[title="Support desk <support@example.test>"]').click();
    await page.locator('[data-testid=mail-from-select]').click();
    await page.locator('.ant-select-item-option[title="help@example.test"]').waitFor();
    await page.keyboard.press('Escape');

    // To: one static address, and a second entry with a variable
    await page.locator('[data-testid=mail-field-to] [role=textbox]').first().click();
    // One input event: per-key typing races the input's value round trip on a busy machine (the caret jumps).
    await page.keyboard.insertText('welcome-team@example.test');
    await page.getByTestId('mail-to-add').click();
    await expect(page.locator('[data-testid=mail-field-to] [role=textbox]').count()).resolves.toBe(2);
    await page.locator('[data-testid=mail-field-to] .nb-variable-hybrid-input').nth(1).locator('button').click();
    for (const key of ['$context', '$context__RC_CASCADER_SPLIT__data', '$context__RC_CASCADER_SPLIT__data__RC_CASCADER_SPLIT__email']) {
      await cascaderItem(page, key).click();
    }
    await page.locator('[data-testid=mail-field-to] .nb-variable-tag').waitFor();

    // Subject: text plus a variable of the trigger
    // Typed key by key, so the input remembers the caret where the variable goes. On a busy machine the input's
    // value round trip can move the caret between keys ("lcome We"), or back to the start after the last key, so
    // that the variable lands in front of the text: then it is cleared and done again.
    const subject = page.locator('[data-testid=mail-field-subject] [role=textbox]');
    for (let attempt = 1; ; attempt++) {
      await subject.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.type('Welcome ', { delay: 40 });
      await page.keyboard.press('End');
      if ((await subject.innerText()).trim() !== 'Welcome' && attempt < 3) continue;
      await pickVariable(page, '[data-testid=mail-field-subject]', ['$context', 'data', 'nickname']);
      await page.locator('[data-testid=mail-field-subject] .nb-variable-tag').waitFor();
      const textFirst = await subject.evaluate((el) => (el.textContent ?? '').trim().startsWith('Welcome'));
      if (textFirst || attempt === 3) break;
    }

    // Body: plain text only
    await page.getByTestId('mail-content-type').getByText('Plain text', { exact: true }).click();
    await page.locator('[data-testid=mail-field-html]').waitFor({ state: 'detached' });
    await page.locator('[data-testid=mail-field-text] [role=textbox], [data-testid=mail-field-text] textarea').first().click();
    await page.keyboard.insertText('Hello and welcome aboard!');
    await form.scrollIntoViewIfNeeded();
    await settled(page, '.ant-drawer-content-wrapper');
    await page.locator('.ant-drawer-body').first().evaluate((el) => el.scrollTo(0, 0));
    await screenshot(page, '21-workflow-node-form');

    await page.locator('.ant-drawer-footer, .ant-drawer-content').getByRole('button', { name: /Submit/ }).last().click();
    await form.waitFor({ state: 'detached', timeout: 30000 });

    // The server has the config the step reads
    const saved = await api(app, token, 'GET', `flow_nodes:get?filterByTk=${nodeId}`);
    expect(String(saved.config.accountId)).toBe(String(account.id));
    expect(saved.config.to).toEqual(['welcome-team@example.test', '{{$context.data.email}}']);
    expect(saved.config.subject).toBe('Welcome {{$context.data.nickname}}');
    expect(saved.config.contentType).toBe('text');
    expect(saved.config.text).toBe('Hello and welcome aboard!');
    expect(saved.config.ignoreFail).toBeFalsy();

    await page.locator('.workflow-node-meta').filter({ hasText: 'Send e-mail' }).first().waitFor();
    await screenshot(page, '22-workflow-canvas');

    // Reopen: the form shows what was saved
    await page.goto(`${app.url}${workflowPath(workflow.id)}`);
    const again = page.locator('.workflow-node-meta').filter({ hasText: 'Send e-mail' }).first();
    await again.waitFor({ timeout: 120000 });
    await again.click();
    await form.waitFor();
    // the account's label once the account list has loaded
    await page.locator('[data-testid=mail-account-select]', { hasText: 'Support desk <support@example.test>' }).waitFor();
    await expect(page.locator('[data-testid=mail-field-to] [role=textbox]').first().innerText()).resolves.toContain('welcome-team@example.test');
    await expect(page.locator('[data-testid=mail-field-subject] .nb-variable-tag').getAttribute('data-variable')).resolves.toBe(
      '{{$context.data.nickname}}',
    );
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('runs: a new user gets the mail with the variables filled in', async () => {
    await api(app, token, 'POST', `workflows:update?filterByTk=${workflow.id}`, { enabled: true });
    await api(app, token, 'POST', 'users:create', { nickname: 'Bob', username: 'bob', email: 'bob@example.test', password: 'bob-pw-12345' });
    const [mail] = await sink.waitFor(1, 30000);
    expect(mail.to.sort()).toEqual(['bob@example.test', 'welcome-team@example.test']);
    const raw = mail.raw.toString('utf8');
    expect(raw).toMatch(/^Subject: Welcome Bob\r?$/m);
    expect(raw).toContain('Hello and welcome aboard!');

    // The execution ends with the step's result, which downstream nodes read as its variables
    const filter = encodeURIComponent(JSON.stringify({ workflowId: workflow.id }));
    let execution: any;
    for (let i = 0; i < 100 && !(execution && execution.status !== 0); i++) {
      [execution] = await api(app, token, 'GET', `executions:list?filter=${filter}`);
      if (!execution || execution.status === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(execution?.status).toBe(1);
    const detail = await api(app, token, 'GET', `executions:get?filterByTk=${execution.id}&appends[]=jobs`);
    const job = detail.jobs.find((j: any) => j.nodeId === nodeId);
    expect(job.result).toMatchObject({ state: 'sent', accepted: expect.arrayContaining(['bob@example.test']) });
    expect(job.result.messageId).toMatch(/^<.+@.+>$/);
  });

  it('configures the "E-Mail received" trigger', async () => {
    const received = await api(app, token, 'POST', 'workflows:create', {
      title: 'Incoming orders',
      type: 'mailbridgeReceived',
      sync: false,
      enabled: false,
      config: {},
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await signInFirst(page, app.url);
    await page.goto(`${app.url}${workflowPath(received.id)}`);
    const trigger = page.getByText('E-Mail received', { exact: true }).first();
    await trigger.waitFor({ timeout: 60000 });
    await trigger.click();
    const form = page.locator('[data-testid=mailbridge-received-fieldset]');
    await form.waitFor();
    await page.locator('[data-testid=mail-trigger-accounts]').click();
    // an SMTP-only account receives nothing, so it is not offered
    await expect(page.locator('.ant-select-item-option[title="Support desk <support@example.test>"]').count()).resolves.toBe(0);
    await page.keyboard.press('Escape');
    await page.locator('#config_subjectContains').fill('Order');
    await page.locator('#config_fromContains').fill('@customer.example');
    await settled(page, '.ant-drawer-content-wrapper');
    await screenshot(page, '23-workflow-trigger-form');
    await page.locator('.ant-drawer-content').getByRole('button', { name: /Submit/ }).last().click();
    await form.waitFor({ state: 'detached', timeout: 30000 });
    const saved = await api(app, token, 'GET', `workflows:get?filterByTk=${received.id}`);
    expect(saved.config).toMatchObject({ subjectContains: 'Order', fromContains: '@customer.example' });
    await page.close();
  });
});
