import { startMicrosoftFake, MicrosoftFake } from '@mailbridge/mail-testkit';
import { createTestApp, TestApp } from '../support/nocobase';
import { createCollectionWorkflow, jobsOf, settleAndDisableWorkflows, waitFor } from '../support/workflow';

const OFFICE = 'office@contoso.test';
const CUSTOMER = 'kunde@fabrikam.test';
const JOB = { PENDING: 0, RESOLVED: 1, FAILED: -1 };

// "E-Mail senden" through a Microsoft 365 app-only account: the step sends with Graph against the fake, in the
// thread of a synced mail, and a Graph refusal fails the job with the consent hint.
describe('workflow step "E-Mail senden" through Microsoft Graph', () => {
  let t: TestApp;
  let fake: MicrosoftFake;
  let accountId: string;
  let appClientId: string;

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    fake = await startMicrosoftFake();
    fake.addUser({ upn: OFFICE, displayName: 'Office' });
    appClientId = fake.addApp({ displayName: 'Mailbridge app-only', secrets: ['app-secret-789'] }).clientId;
    fake.grantScopes(appClientId, ['Mail.Send', 'Mail.ReadWrite', 'User.Read.All'], 'application');
    t = await createTestApp({ plugins: ['workflow'] });
    const admin = await t.signIn();
    const created = await t.agent(admin).post('mailAccounts:create', {
      title: 'Office',
      provider: 'ms365-app',
      address: OFFICE,
      settings: {
        tenantId: fake.tenantId,
        clientId: appClientId,
        mailbox: OFFICE,
        scopePreset: 'read-send',
        endpoints: { authorityHost: fake.authorityHost, graphBaseUrl: fake.graphBaseUrl, ca: fake.caPem },
      },
      secrets: { clientSecret: 'app-secret-789' },
    });
    accountId = created.body.data.id;
    t.db.collection({ name: 'tickets', fields: [{ name: 'title', type: 'string' }, { name: 'email', type: 'string' }, { name: 'answers', type: 'string' }] });
    await t.db.sync();
  });

  afterEach(async () => {
    await settleAndDisableWorkflows(t.db);
  });

  afterAll(async () => {
    await t?.destroy();
    await fake?.close();
  });

  const firstSettledJob = (workflow: any) =>
    waitFor(async () => (await jobsOf(t.db, workflow)).jobs.find((j: any) => j.get('status') !== JOB.PENDING), 30000, 'the job');

  it('answers a synced mail in its thread, with the variables filled in', async () => {
    const [question] = fake.addMessages(OFFICE, 'inbox', [
      { subject: 'Frage zur Rechnung', from: CUSTOMER, to: [OFFICE], text: 'Wann kommt die Rechnung?', internetMessageId: '<frage-1@fabrikam.test>' },
    ]);
    const mail: any = t.app.pm.get('@mailbridge/plugin-mail');
    expect((await mail.mail.sync.syncAccount(accountId)).ok).toBe(true);
    const stored = await t.db.getModel('mailMessages').findOne({ where: { accountId, messageId: '<frage-1@fabrikam.test>' } });
    expect(stored).toBeTruthy();

    const { workflow } = await createCollectionWorkflow(t.db, 'tickets', {
      type: 'mailbridgeSend',
      config: {
        accountId,
        to: ['{{$context.data.email}}'],
        subject: 'Re: {{$context.data.title}}',
        contentType: 'text',
        text: '{{$context.data.answers}}',
        inReplyTo: '<frage-1@fabrikam.test>',
      },
    });
    await t.db.getRepository('tickets').create({ values: { title: question.subject, email: CUSTOMER, answers: 'Sie kommt morgen.' } });
    const job = await firstSettledJob(workflow);
    expect(job.get('status')).toBe(JOB.RESOLVED);
    const result = job.get('result');
    expect(result.accepted).toEqual([CUSTOMER]);
    expect(String(result.threadId)).toBe(String(stored.get('threadId')));

    const sent = fake.sent.find((s) => s.internetMessageId === result.messageId);
    expect(sent).toMatchObject({ mailbox: OFFICE, to: [CUSTOMER], subject: 'Re: Frage zur Rechnung', inReplyTo: '<frage-1@fabrikam.test>' });
    expect(sent!.references).toContain('<frage-1@fabrikam.test>');
  });

  it('fails the job with the consent hint when Graph refuses Mail.Send', async () => {
    fake.revokeScopes(appClientId, ['Mail.Send'], 'application');
    // a token issued before the revocation still carries the role: start from a fresh one, as after an hour
    await (t.app.pm.get('@mailbridge/plugin-mail') as any).mail.engine.forget(String(accountId));
    const { workflow } = await createCollectionWorkflow(t.db, 'tickets', {
      type: 'mailbridgeSend',
      config: { accountId, to: [CUSTOMER], subject: 'x', contentType: 'text', text: 'y' },
    });
    await t.db.getRepository('tickets').create({ values: { title: 'ohne Recht', email: CUSTOMER } });
    const job = await firstSettledJob(workflow);
    expect(job.get('status')).toBe(JOB.FAILED);
    expect(job.get('result').state).toBe('failed');
    expect(job.get('result').error).toMatch(/Mail\.Send/);
    expect(fake.sent.some((s) => s.subject === 'x')).toBe(false);
  });
});
