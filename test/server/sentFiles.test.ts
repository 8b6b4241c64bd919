import fs from 'fs';
import path from 'path';
import { ImapFlow } from 'imapflow';
import { createTestApp, TestApp } from '../support/nocobase';
import { startMailPeers, MailPeers } from '../support/mailPeers';
import { waitFor } from '../support/workflow';
import { moveLeftoverSentFiles } from '../../src/server/attachments/outboxAttachments';

const alice = { user: 'alice@example.test', password: 'alice-pw-files' };
const bob = { user: 'bob@example.test', password: 'bob-pw-files' };

describe("sent mail's files in NocoBase's file manager, on an account that syncs its Sent folder (dovecot)", () => {
  let t: TestApp;
  let peers: MailPeers;
  let admin: string;
  let accountId: string;

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    // as a full NocoBase sets it; the file manager builds its download redirects on it
    process.env.APP_PUBLIC_PATH ??= '/';
    peers = await startMailPeers([alice, bob]);
    t = await createTestApp({ plugins: ['file-manager'] });
    admin = await t.signIn();
    const res = await t.agent(admin).post('mailAccounts:create', peers.accountValues(alice));
    accountId = res.body.data.id;
  });

  afterAll(async () => {
    await t?.destroy();
    await peers?.stop();
  });

  const syncNow = async () => {
    const res = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: accountId });
    expect(res.body.data.ok).toBe(true);
  };
  const download = async (attachmentId: unknown) => {
    const res = await fetch(`${t.url}/api/mailAttachments:download?filterByTk=${attachmentId}`, { headers: { Authorization: `Bearer ${admin}`, 'X-Authenticator': 'basic' } });
    expect(res.status).toBe(200);
    return { length: res.headers.get('content-length'), type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
  };
  const filesOf = (messageId: string) =>
    t.db.getModel('mailMessages').findOne({ where: { accountId, messageId } }).then((row: any) =>
      t.db.getModel('mailAttachments').findAll({ where: { mailMessageId: row.get('id') } }),
    );
  /** Sends a mail with one file to Bob and answers the sent outbox entry ({ id, messageId, … }). */
  const sendFile = async (subject: string, file: { filename: string; contentType: string; content: Buffer }) => {
    const res = await t.agent(admin).post('mailMessages:send', {
      accountId,
      to: [bob.user],
      subject,
      text: 'Anbei.',
      attachments: [{ filename: file.filename, contentType: file.contentType, contentBase64: file.content.toString('base64') }],
    });
    expect(res.body.data.state).toBe('sent');
    return res.body.data;
  };

  it('moves the files into the file manager once sent, keeps them when the Sent copy is adopted, and removes them with the mail', async () => {
    const content = Buffer.from('%PDF-1.4 Überweisung\n' + 'z'.repeat(3000));
    const sent = await sendFile('Überweisung 12', { filename: 'Überweisung 12.pdf', contentType: 'application/pdf', content });
    const { messageId } = sent;

    // sent: the row points at the file manager's copy, the outbox entry keeps only the file's name and size
    const [held] = await filesOf(messageId);
    const fileId = held.get('fileId');
    expect(fileId).toBeTruthy();
    const kept = (await t.db.getRepository('mailFiles').findOne({ filterByTk: fileId })).toJSON();
    expect(kept).toMatchObject({ title: 'Überweisung 12', extname: '.pdf', mimetype: 'application/pdf', size: content.length });
    const entry = await t.db.getModel('mailOutbox').findByPk(sent.id);
    expect(JSON.stringify(entry.get('message'))).not.toContain(content.toString('base64').slice(0, 40));
    expect(entry.get('message').attachments).toEqual([{ filename: 'Überweisung 12.pdf', contentType: 'application/pdf', size: content.length }]);
    const early = await download(held.get('id'));
    expect([early.type, early.length, early.body.equals(content)]).toEqual(['application/pdf', String(content.length), true]);
    // a member the account is not assigned to finds it neither among the file manager's files nor under its URL
    await t.db.getRepository('users').create({ values: { email: 'member@example.test', password: 'member-pw-1', roles: ['member'] } });
    const member = await t.signIn('member@example.test', 'member-pw-1');
    const listed = await t.agent(member).get('attachments:list', { pageSize: 200 });
    expect(listed.text).not.toContain('Überweisung');
    expect((await t.agent(member).get('mailFiles:list', {})).status).toBe(403);
    const url = new URL(String(kept.url), t.url);
    expect(url.pathname).toMatch(/\/files\/.+\/mailFiles\//);
    const asAdmin = await fetch(url, { headers: { Authorization: `Bearer ${admin}`, 'X-Authenticator': 'basic' } });
    expect([asAdmin.status, Buffer.from(await asAdmin.arrayBuffer()).equals(content)]).toEqual([200, true]);
    const byUrl = await fetch(url, { headers: { Authorization: `Bearer ${member}`, 'X-Authenticator': 'basic' } });
    expect(byUrl.status).not.toBe(200);
    expect(Buffer.from(await byUrl.arrayBuffer()).includes(content)).toBe(false);
    expect((await t.agent(member).get('mailAttachments:download', { filterByTk: held.get('id') })).status).toBe(404);

    // the sync adopts the copy appended to Sent; the file stays where it is kept, listed once
    await syncNow();
    const row = await t.db.getModel('mailMessages').findOne({ where: { accountId, messageId } });
    expect(row.get('folder')).toBe('Sent');
    expect(row.get('providerId')).not.toMatch(/^outbox:/);
    const files = await filesOf(messageId);
    expect(files.map((f: any) => [f.get('filename'), String(f.get('fileId'))])).toEqual([['Überweisung 12.pdf', String(fileId)]]);
    expect((await download(files[0].get('id'))).body.equals(content)).toBe(true);

    // deleted from the mailbox in another client: the next sync removes the mail, and its file from the file manager
    const imap = new ImapFlow({ host: peers.dovecot.host, port: peers.dovecot.imapPort, secure: false, auth: { user: alice.user, pass: alice.password }, logger: false });
    await imap.connect();
    await imap.mailboxOpen('Sent');
    await imap.messageDelete(String(row.get('providerId')), { uid: true });
    await imap.logout();
    await syncNow();
    expect(await t.db.getModel('mailMessages').count({ where: { accountId, messageId } })).toBe(0);
    await waitFor(async () => (await t.db.getRepository('mailFiles').count({ filter: { id: fileId } })) === 0, 10000, 'the kept file to go');
    await expect((t.app.pm.get('file-manager') as any).getFileStream(kept)).rejects.toThrow();
  });

  it('keeps a file in the outbox when the file manager cannot store it, serves it, and moves it at the next start', async () => {
    // a storage whose folder cannot be made: its path runs through a file
    const blocker = path.join(t.storage, 'not-a-folder');
    fs.writeFileSync(blocker, '');
    const storages = t.db.getRepository('storages');
    const storage = (await storages.findOne({ filter: { default: true } })).toJSON();
    await storages.update({ filterByTk: storage.id, values: { options: { ...storage.options, documentRoot: path.join(blocker, 'uploads') } } });
    const content = Buffer.from('Lieferschein 8');
    let sent: any;
    try {
      sent = await sendFile('Lieferschein 8', { filename: 'lieferschein-8.txt', contentType: 'text/plain', content });
      const [held] = await filesOf(sent.messageId);
      expect(held.get('fileId')).toBeNull();
      const entry = await t.db.getModel('mailOutbox').findByPk(sent.id);
      expect(entry.get('message').attachments[0].contentBase64).toBe(content.toString('base64'));
      const got = await download(held.get('id'));
      expect([got.length, got.body.equals(content)]).toEqual([String(content.length), true]);
    } finally {
      await storages.update({ filterByTk: storage.id, values: { options: storage.options } });
    }
    // what the plugin does at start, with the storage back
    expect(await moveLeftoverSentFiles(t.app)).toBe(1);
    const [moved] = await filesOf(sent.messageId);
    expect(moved.get('fileId')).toBeTruthy();
    const entry = await t.db.getModel('mailOutbox').findByPk(sent.id);
    expect(entry.get('message').attachments).toEqual([{ filename: 'lieferschein-8.txt', contentType: 'text/plain', size: content.length }]);
    expect((await download(moved.get('id'))).body.equals(content)).toBe(true);
    expect(await moveLeftoverSentFiles(t.app)).toBe(0);
  });
});
