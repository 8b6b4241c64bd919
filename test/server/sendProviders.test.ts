import { startFakeSes, startFakeSendGrid, FAKE_SES_CREDENTIALS, FAKE_SENDGRID_KEYS, FakeSes, FakeSendGrid } from '@mailbridge/mail-testkit';
import { createTestApp, TestApp } from '../support/nocobase';
import { createCollectionWorkflow, jobsOf, waitFor } from '../support/workflow';

const JOB = { PENDING: 0, RESOLVED: 1, FAILED: -1 };

describe('send-only providers through the outbox and the workflow step: Amazon SES and SendGrid fakes', () => {
  let t: TestApp;
  let ses: FakeSes;
  let sendgrid: FakeSendGrid;
  let admin: string;
  let sesId: string;
  let sendgridId: string;

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    ses = await startFakeSes({ region: 'eu-central-1' });
    sendgrid = await startFakeSendGrid();
    t = await createTestApp({ plugins: ['file-manager', 'workflow'] });
    admin = await t.signIn();
    const a = await t.agent(admin).post('mailAccounts:create', {
      title: 'SES',
      provider: 'ses',
      address: 'news@example.test',
      settings: { region: 'eu-central-1', accessKeyId: FAKE_SES_CREDENTIALS.accessKeyId, endpoint: ses.endpoint },
      secrets: { secretAccessKey: FAKE_SES_CREDENTIALS.secretAccessKey },
    });
    sesId = a.body.data.id;
    const b = await t.agent(admin).post('mailAccounts:create', {
      title: 'SendGrid',
      provider: 'sendgrid',
      address: 'info@example.test',
      settings: { baseUrl: sendgrid.baseUrl, categories: ['mailbridge'] },
      secrets: { apiKey: FAKE_SENDGRID_KEYS.full.key },
    });
    sendgridId = b.body.data.id;
    t.db.collection({ name: 'orders', fields: [{ name: 'email', type: 'string' }, { name: 'number', type: 'string' }] });
    await t.db.sync();
  });

  afterAll(async () => {
    await t?.destroy();
    await ses?.close();
    await sendgrid?.close();
  });

  it('tests both connections without sending, and never echoes the secrets', async () => {
    for (const [id, secret] of [
      [sesId, FAKE_SES_CREDENTIALS.secretAccessKey],
      [sendgridId, FAKE_SENDGRID_KEYS.full.key],
    ]) {
      const res = await t.agent(admin).post('mailAccounts:test', {}, { filterByTk: id });
      expect(res.body.data.ok).toBe(true);
      expect(res.text).not.toContain(secret);
    }
    expect(ses.messages).toHaveLength(0);
    expect(sendgrid.requests).toHaveLength(0);
    const wrong = await t.agent(admin).post('mailAccounts:test', { secrets: { apiKey: FAKE_SENDGRID_KEYS.readOnly.key } }, { filterByTk: sendgridId });
    expect(wrong.body.data.ok).toBe(false);
    expect(JSON.stringify(wrong.body)).toMatch(/mail\.send|Mail Send/i);
  });

  it('stores the Message-ID SES assigned, so answers find their thread', async () => {
    const res = await t.agent(admin).post('mailMessages:send', {
      accountId: sesId,
      to: ['kunde@example.test'],
      subject: 'Rechnung 42',
      text: 'Anbei',
      attachments: [{ filename: 'rechnung.txt', contentBase64: Buffer.from('Summe: 42 €').toString('base64') }],
    });
    expect(res.body.data.state).toBe('sent');
    const sent = ses.messages[ses.messages.length - 1];
    expect(res.body.data.messageId).toBe(sent.headerMessageId);
    expect(res.body.data.messageId).toMatch(/@eu-central-1\.amazonses\.com>$/);
    const row = await t.db.getModel('mailMessages').findOne({ where: { messageId: sent.headerMessageId } });
    expect(row.get('direction')).toBe('out');
    // A send-only account shows its health by its sends.
    const account = await t.db.getRepository('mailAccounts').findOne({ filterByTk: sesId });
    expect(account.get('status')).toBe('ok');
  });

  it('keeps the files of a mail sent without a Sent folder in the file manager: they download and can be forwarded', async () => {
    const content = Buffer.from('%PDF-1.4 Lieferschein Nr. 7 – Grüße');
    const res = await t.agent(admin).post('mailMessages:send', {
      accountId: sesId,
      to: ['kunde@example.test'],
      subject: 'Lieferschein 7',
      text: 'Anbei',
      attachments: [{ filename: 'Lieferschein 7.pdf', contentType: 'application/pdf', contentBase64: content.toString('base64') }],
    });
    expect(res.body.data.state).toBe('sent');
    const row = await t.db.getModel('mailMessages').findOne({ where: { messageId: res.body.data.messageId } });
    const got = await t.agent(admin).get('mailMessages:get', { filterByTk: row.get('id') });
    expect(got.body.data.attachments.map((a: any) => [a.filename, a.contentType, a.size])).toEqual([['Lieferschein 7.pdf', 'application/pdf', content.length]]);
    const fileId = got.body.data.attachments[0].id;
    // the file moved from the outbox entry into the file manager's default storage
    const attachment = await t.db.getModel('mailAttachments').findByPk(fileId);
    const kept = await t.db.getRepository('mailFiles').findOne({ filterByTk: attachment.get('fileId') });
    expect(kept.toJSON()).toMatchObject({ title: 'Lieferschein 7', extname: '.pdf', mimetype: 'application/pdf', size: content.length });
    const entry = await t.db.getModel('mailOutbox').findByPk(res.body.data.id);
    expect(entry.get('message').attachments).toEqual([{ filename: 'Lieferschein 7.pdf', contentType: 'application/pdf', size: content.length }]);
    // the folder the outbox filed it in is the account's Sent folder, and its only one
    const folders = await t.agent(admin).get('mailMessages:folders', { accountId: sendgridId });
    expect(folders.body.data).toEqual([{ folder: 'Sent', specialUse: 'sent', total: 0, unread: 0 }]);
    const sesFolders = await t.agent(admin).get('mailMessages:folders', { accountId: sesId });
    expect(sesFolders.body.data.map((f: any) => [f.folder, f.specialUse])).toEqual([['Sent', 'sent']]);
    const download = await fetch(`${t.url}/api/mailAttachments:download?filterByTk=${fileId}`, { headers: { Authorization: `Bearer ${admin}`, 'X-Authenticator': 'basic' } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/pdf');
    expect(download.headers.get('content-length')).toBe(String(content.length));
    expect(Buffer.from(await download.arrayBuffer()).equals(content)).toBe(true);

    const forward = await t.agent(admin).post('mailMessages:send', {
      accountId: sendgridId,
      to: ['lager@example.test'],
      subject: 'Fwd: Lieferschein 7',
      text: 'Zur Info',
      attachments: [{ mailAttachmentId: fileId }],
    });
    expect(forward.body.data.state).toBe('sent');
    const request = sendgrid.requests[sendgrid.requests.length - 1];
    expect(request.body.attachments.map((a: any) => [a.filename, a.type, Buffer.from(a.content, 'base64').equals(content)])).toEqual([
      ['Lieferschein 7.pdf', 'application/pdf', true],
    ]);
  });

  it("removes a deleted account's sent files from the file manager", async () => {
    const created = await t.agent(admin).post('mailAccounts:create', {
      title: 'SendGrid (to delete)',
      provider: 'sendgrid',
      address: 'alt@example.test',
      settings: { baseUrl: sendgrid.baseUrl },
      secrets: { apiKey: FAKE_SENDGRID_KEYS.full.key },
    });
    const accountId = created.body.data.id;
    const content = Buffer.from('Inventur 2026');
    const res = await t.agent(admin).post('mailMessages:send', {
      accountId,
      to: ['kunde@example.test'],
      subject: 'Inventur',
      text: 'Anbei',
      attachments: [{ filename: 'inventur.txt', contentType: 'text/plain', contentBase64: content.toString('base64') }],
    });
    expect(res.body.data.state).toBe('sent');
    const row = await t.db.getModel('mailMessages').findOne({ where: { messageId: res.body.data.messageId } });
    const attachment = await t.db.getModel('mailAttachments').findOne({ where: { mailMessageId: row.get('id') } });
    const kept = (await t.db.getRepository('mailFiles').findOne({ filterByTk: attachment.get('fileId') })).toJSON();
    const fileManager: any = t.app.pm.get('file-manager');
    const { stream } = await fileManager.getFileStream(kept);
    stream.destroy();

    const removed = await t.agent(admin).post('mailAccounts:destroy', {}, { filterByTk: accountId });
    expect(removed.status).toBe(200);
    expect(await t.db.getModel('mailAttachments').count({ where: { mailMessageId: row.get('id') } })).toBe(0);
    await waitFor(async () => (await t.db.getRepository('mailFiles').count({ filter: { id: kept.id } })) === 0);
    await expect(fileManager.getFileStream(kept)).rejects.toThrow();
  });

  it('sends through SendGrid with its JSON schema and bearer key', async () => {
    const res = await t.agent(admin).post('mailMessages:send', {
      accountId: sendgridId,
      to: ['kunde@example.test'],
      cc: ['chef@example.test'],
      subject: 'Angebot',
      html: '<p>Hallo</p>',
      text: 'Hallo',
    });
    expect(res.body.data.state).toBe('sent');
    const request = sendgrid.requests[sendgrid.requests.length - 1];
    expect(request.body.categories).toEqual(['mailbridge']);
    expect(request.body.headers['Message-ID']).toBe(res.body.data.messageId);
  });

  it('runs the workflow step through SES and SendGrid', async () => {
    for (const accountId of [sesId, sendgridId]) {
      const { workflow } = await createCollectionWorkflow(t.db, 'orders', {
        type: 'mailbridgeSend',
        config: { accountId, to: ['{{$context.data.email}}'], subject: 'Bestellung {{$context.data.number}}', contentType: 'text', text: 'Danke' },
      });
      await t.db.getRepository('orders').create({ values: { email: 'kaeufer@example.test', number: `N-${accountId}` } });
      const job = await waitFor(async () => (await jobsOf(t.db, workflow)).jobs.find((j: any) => j.get('status') !== JOB.PENDING), 30000, 'the job');
      expect(job.get('status')).toBe(JOB.RESOLVED);
      expect(job.get('result').accepted).toEqual(['kaeufer@example.test']);
      await workflow.update({ enabled: false });
    }
    expect(ses.messages.some((m) => m.raw.toString().includes(`N-${sesId}`))).toBe(true);
    expect(sendgrid.requests.some((r) => JSON.stringify(r.body).includes(`N-${sendgridId}`))).toBe(true);
  });

  it('fails with a typed, readable error when SES refuses the signature', async () => {
    await t.agent(admin).post('mailAccounts:update', { secrets: { secretAccessKey: 'wrong/secret/key' } }, { filterByTk: sesId });
    const res = await t.agent(admin).post('mailMessages:send', { accountId: sesId, to: ['kunde@example.test'], subject: 'x', text: 'y' });
    expect(res.body.data.state).toBe('failed');
    expect(res.body.data.errorCode).toBe('AUTH_FAILED');
    expect(res.text).not.toContain('wrong/secret/key');
    const account = await t.db.getRepository('mailAccounts').findOne({ filterByTk: sesId });
    expect(account.get('status')).toBe('error');
  });
});
