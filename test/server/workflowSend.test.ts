import fs from 'fs';
import path from 'path';
import { startSmtpSink } from '@mailbridge/mail-testkit';
import { createTestApp, TestApp } from '../support/nocobase';
import { startMailPeers, MailPeers } from '../support/mailPeers';
import { createCollectionWorkflow, jobsOf, settleAndDisableWorkflows, waitFor } from '../support/workflow';

const sender = { user: 'office@example.test', password: 'office-pw-31' };
const customer = { user: 'kunde@example.test', password: 'kunde-pw-77' };
const NODE = 'mailbridgeSend';
const JOB = { PENDING: 0, RESOLVED: 1, FAILED: -1 };

describe('workflow step "E-Mail senden"', () => {
  let t: TestApp;
  let peers: MailPeers;
  let accountId: string;
  let uploadFile: string;

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    peers = await startMailPeers([sender, customer]);
    t = await createTestApp({ plugins: ['file-manager', 'workflow'] });
    const admin = await t.signIn();
    const res = await t.agent(admin).post('mailAccounts:create', peers.accountValues(sender, { settings: {
      ...peers.accountValues(sender).settings,
      appendSent: false,
    } }));
    accountId = res.body.data.id;

    t.db.collection({
      name: 'cases',
      fields: [
        { name: 'title', type: 'string' },
        { name: 'email', type: 'string' },
        { name: 'files', type: 'belongsToMany', target: 'attachments', through: 'casesFiles' },
      ],
    });
    await t.db.sync();
    const storage = await t.db.getRepository('storages').findOne({ filter: { type: 'local' } });
    // NocoBase resolves the local storage's "storage/uploads" inside STORAGE_PATH (the test app's temp dir).
    const root = path.join(t.storage, 'uploads');
    fs.mkdirSync(root, { recursive: true });
    uploadFile = `mailbridge-test-${process.pid}.pdf`;
    fs.writeFileSync(path.join(root, uploadFile), Buffer.from('%PDF-1.4 Angebot für Sie\n'));
    await t.db.getRepository('attachments').create({
      values: { title: 'Angebot', filename: uploadFile, extname: '.pdf', mimetype: 'application/pdf', path: '', storageId: storage.get('id'), size: 26 },
    });
  });

  // A failed assertion must not leave its workflow enabled to fire again in the next test.
  afterEach(async () => {
    await settleAndDisableWorkflows(t.db);
  });

  afterAll(async () => {
    await t?.destroy();
    await peers?.stop();
  });

  const createCase = async (values: any) => {
    const attachment = await t.db.getRepository('attachments').findOne({ filter: { filename: uploadFile } });
    return t.db.getRepository('cases').create({ values: { ...values, files: [attachment.get('id')] } });
  };

  it('sends through SMTP with variables filled in and the record attachment attached', async () => {
    const { workflow } = await createCollectionWorkflow(
      t.db,
      'cases',
      {
        type: NODE,
        config: {
          accountId,
          to: ['{{$context.data.email}}'],
          subject: 'Ihr Vorgang: {{$context.data.title}}',
          contentType: 'both',
          text: 'Guten Tag, Ihr Vorgang "{{$context.data.title}}" ist eingegangen.',
          html: '<p>Guten Tag, Ihr Vorgang <b>{{$context.data.title}}</b> ist eingegangen.</p>',
          attachments: '{{$context.data.files}}',
        },
      },
      { triggerConfig: { appends: ['files'] } },
    );
    const before = peers.sink.received.length;
    await createCase({ title: 'Heizung defekt', email: customer.user });
    const job = await waitFor(async () => {
      const { jobs } = await jobsOf(t.db, workflow);
      return jobs.find((j: any) => j.get('status') !== JOB.PENDING);
    }, 30000, 'the send job');
    const result = job.get('result');
    expect({ status: job.get('status'), result }).toMatchObject({ status: JOB.RESOLVED });
    expect(result.messageId).toMatch(/^<.+@example\.test>$/);
    expect(result.accepted).toEqual([customer.user]);
    expect(result.threadId).toBeTruthy();

    const mails = peers.sink.received.slice(before);
    expect(mails).toHaveLength(1);
    const raw = mails[0].raw.toString();
    expect(raw).toContain(result.messageId);
    expect(raw).toMatch(/Subject: =\?UTF-8\?Q\?Ihr_Vorgang:_Heizung_defekt\?=|Subject: Ihr Vorgang: Heizung defekt/);
    expect(raw).toContain('Angebot.pdf');
    expect(raw).toContain(Buffer.from('%PDF-1.4 Angebot für Sie\n').toString('base64').slice(0, 20));
    await workflow.update({ enabled: false });
  });

  it('fails the job with a readable error, or resolves it when "ignore failure" is set', async () => {
    for (const ignoreFail of [false, true]) {
      const { workflow } = await createCollectionWorkflow(t.db, 'cases', {
        type: NODE,
        config: { accountId, to: ['nobody-here@example.test'], subject: 'x', contentType: 'text', text: 'y', ignoreFail },
      });
      await createCase({ title: `fail ${ignoreFail}`, email: 'x' });
      const job = await waitFor(async () => {
        const { jobs } = await jobsOf(t.db, workflow);
        return jobs.find((j: any) => j.get('status') !== JOB.PENDING);
      }, 30000, 'the failing job');
      expect(job.get('status')).toBe(ignoreFail ? JOB.RESOLVED : JOB.FAILED);
      expect(job.get('result').state).toBe('failed');
      expect(job.get('result').error).toMatch(/recipient|refused|rejected/i);
      await waitFor(async () => (await jobsOf(t.db, workflow)).executions.every((e: any) => e.get('status') !== 0), 30000, 'the execution to end');
      await workflow.update({ enabled: false });
    }
  });

  it('resumes a job left pending across a restart exactly once', async () => {
    const { workflow } = await createCollectionWorkflow(t.db, 'cases', {
      type: NODE,
      config: { accountId, to: [customer.user], subject: 'Nach dem Neustart', contentType: 'text', text: 'einmal' },
    });
    // The SMTP server is down: the entry stays queued for a retry, the job stays pending.
    await peers.sink.close();
    await createCase({ title: 'restart', email: customer.user });
    const entry = await waitFor(
      async () => (await t.db.getModel('mailOutbox').findOne({ where: { state: 'queued' }, order: [['id', 'DESC']] })) as any,
      30000,
      'a queued outbox entry',
    );
    expect(entry.get('attempts')).toBe(1);
    expect((await jobsOf(t.db, workflow)).jobs.map((j: any) => j.get('status'))).toEqual([JOB.PENDING]);

    await t.app.stop();
    await t.app.start();
    peers.sink = await startSmtpSink({ dovecot: peers.dovecot, users: [sender, customer], port: peers.sink.port });
    const mail: any = t.app.pm.get('@mailbridge/plugin-mail');
    await t.db.getModel('mailOutbox').update({ nextAttemptAt: new Date() }, { where: { id: entry.get('id') } });
    await Promise.all([mail.mail.outbox.drain(), mail.mail.outbox.drain()]);
    await mail.mail.outbox.drain();

    const job = await waitFor(async () => {
      const { jobs } = await jobsOf(t.db, workflow);
      return jobs.find((j: any) => j.get('status') !== JOB.PENDING);
    }, 30000, 'the resumed job');
    expect(job.get('status')).toBe(JOB.RESOLVED);
    const delivered = peers.sink.received.filter((m) => m.raw.toString().includes('Nach dem Neustart'));
    expect(delivered).toHaveLength(1);
    const { executions, jobs } = await waitFor(async () => {
      const state = await jobsOf(t.db, workflow);
      return state.executions[0]?.get('status') !== 0 && state;
    }, 30000, 'the execution to finish');
    expect(jobs).toHaveLength(1);
    expect(executions[0].get('status')).toBe(1);
  });
});
