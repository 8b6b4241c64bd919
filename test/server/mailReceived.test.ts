import { seedMaildir } from '@mailbridge/mail-testkit';
import { createTestApp, TestApp } from '../support/nocobase';
import { startMailPeers, MailPeers } from '../support/mailPeers';

// The workflow trigger "E-Mail received" (type 'mailbridgeReceived'): its filters, its context, and imported
// history (quiet by default, live with importHistory).
const office = { user: 'office@example.test', password: 'office-pw-8a2' };
const desk = { user: 'desk@example.test', password: 'desk-pw-4c7' };
const CRLF = '\r\n';
let seq = 0;

function mail(from: string, to: string, subject: string, text = 'Hallo.') {
  const messageId = `<received-${process.pid}-${++seq}@test.example>`;
  const raw = [
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString().replace(/GMT$/, '+0000')}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    text,
    '',
  ].join(CRLF);
  return { raw, messageId };
}

describe('workflow trigger "E-Mail received"', () => {
  let t: TestApp;
  let peers: MailPeers;
  let admin: string;
  const accounts: Record<string, string> = {};
  const workflows: Record<string, any> = {};

  const syncNow = async (accountId: string) => {
    const res = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: accountId });
    if (!res.body?.data?.ok) throw new Error(`sync failed: ${res.text}`);
  };
  const fired = async (name: string) => {
    const executions = await t.db
      .getRepository('executions')
      .find({ filter: { workflowId: workflows[name].get('id') }, sort: ['id'] });
    return executions.map((e: any) => e.get('context'));
  };
  const subjects = async (name: string) => (await fired(name)).map((c: any) => c.message.subject).sort();

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    peers = await startMailPeers([office, desk]);
    t = await createTestApp({ plugins: ['workflow'] });
    admin = await t.signIn();
    t.db.collection({
      name: 'tickets',
      fields: [
        { name: 'title', type: 'string' },
        { name: 'requester', type: 'string' },
      ],
    });
    await t.db.sync();

    await seedMaildir(peers.dovecot, office.user, 'INBOX', [mail('alt@kunde.test', office.user, 'Office history').raw]);
    await seedMaildir(peers.dovecot, desk.user, 'INBOX', [mail('alt@kunde.test', desk.user, 'Desk history').raw]);

    const create = async (user: typeof office, extra: any = {}) => {
      const values = peers.accountValues(user);
      const res = await t
        .agent(admin)
        .post('mailAccounts:create', { ...values, settings: { ...values.settings, ...extra } });
      return String(res.body.data.id);
    };
    accounts.office = await create(office);
    accounts.desk = await create(desk, {
      linking: {
        collections: [{ name: 'tickets' }],
        agentAddress: desk.user,
        importHistory: true,
        createByForward: { collection: 'tickets', fieldMap: { title: 'subject', requester: 'fromAddress' } },
      },
    });

    const repo = t.db.getRepository('workflows');
    const add = async (name: string, config: any) => {
      workflows[name] = await repo.create({
        values: { title: name, enabled: true, type: 'mailbridgeReceived', sync: true, config },
      });
    };
    await add('all', {});
    await add('desk', { accountId: accounts.desk });
    await add('vip', { fromContains: 'VIP' });
    await add('tickets', { linkedCollection: 'tickets' });
    await add('archive', { folder: 'Archive' });
    await add('both', { accountId: [accounts.office, accounts.desk], subjectContains: 'dringend' });
    await add('disabled', {});
    await workflows.disabled.update({ enabled: false });
  });

  afterAll(async () => {
    await t?.destroy();
    await peers?.stop();
  });

  it('keeps imported history quiet, unless the account imports history', async () => {
    await syncNow(accounts.office);
    await syncNow(accounts.desk);
    expect(await subjects('all')).toEqual(['Desk history']);
    expect(await subjects('desk')).toEqual(['Desk history']);
    // importHistory also creates the record the agent address asks for
    expect(await t.db.getRepository('tickets').count({ filter: { title: 'Desk history' } })).toBe(1);
    expect(await subjects('tickets')).toEqual(['Desk history']);
  });

  it('fires the workflows whose filters the mail passes, with message, thread and links', async () => {
    await peers.dovecot.deliver(
      office.user,
      mail('Vip Kunde <vip@kunde.test>', office.user, 'Dringend: Angebot', 'Bitte schnell.').raw,
    );
    await peers.dovecot.deliver(desk.user, mail('someone@kunde.test', desk.user, 'Drucker kaputt').raw);
    await syncNow(accounts.office);
    await syncNow(accounts.desk);
    expect(await subjects('all')).toEqual(['Desk history', 'Dringend: Angebot', 'Drucker kaputt']);
    expect(await subjects('desk')).toEqual(['Desk history', 'Drucker kaputt']);
    expect(await subjects('vip')).toEqual(['Dringend: Angebot']);
    expect(await subjects('tickets')).toEqual(['Desk history', 'Drucker kaputt']);
    expect(await subjects('both')).toEqual(['Dringend: Angebot']);
    expect(await subjects('archive')).toEqual([]);
    expect(await subjects('disabled')).toEqual([]);

    const [vip] = await fired('vip');
    expect(vip.message).toMatchObject({
      subject: 'Dringend: Angebot',
      fromAddress: 'vip@kunde.test',
      from: { name: 'Vip Kunde', address: 'vip@kunde.test' },
      folder: 'INBOX',
      direction: 'in',
    });
    expect(vip.message.text).toContain('Bitte schnell.');
    expect(String(vip.message.accountId)).toBe(accounts.office);
    expect(vip.thread).toMatchObject({ subject: 'Dringend: Angebot', messageCount: 1 });
    expect(vip.links).toEqual([]);

    const printer = (await fired('tickets')).find((c: any) => c.message.subject === 'Drucker kaputt');
    expect(printer.links).toEqual([
      expect.objectContaining({
        collection: 'tickets',
        linkedBy: 'created',
        record: expect.objectContaining({ title: 'Drucker kaputt', requester: 'someone@kunde.test' }),
      }),
    ]);
  });

  it('does not fire again when nothing new arrived', async () => {
    const before = (await fired('all')).length;
    await syncNow(accounts.office);
    await syncNow(accounts.desk);
    expect((await fired('all')).length).toBe(before);
  });

  it('refuses a config of the wrong shape', () => {
    const trigger = (t.app.pm.get('workflow') as any).triggers.get('mailbridgeReceived');
    expect(trigger.validateConfig({ subjectContains: 'x', accountId: ['1', 2] })).toBeNull();
    expect(trigger.validateConfig({ subjectContains: 5, accountId: { x: 1 } })).toEqual({
      subjectContains: expect.any(String),
      accountId: expect.any(String),
    });
  });
});
