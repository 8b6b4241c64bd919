import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import { makeMessage, seedMaildir } from '@mailbridge/mail-testkit';
import { createTestApp, TestApp } from '../support/nocobase';
import { startMailPeers, MailPeers } from '../support/mailPeers';

const alice = { user: 'alice@example.test', password: 'alice-pw-7c1e' };
const bob = { user: 'bob@example.test', password: 'bob-pw-22aa' };

describe('SMTP/IMAP account end to end: NocoBase <-> dovecot', () => {
  let t: TestApp;
  let peers: MailPeers;
  let admin: string;
  let accountId: string;

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    peers = await startMailPeers([alice, bob]);
    // error-handler, as in a full NocoBase: errors answer { errors: [{ message }] }, also for a 5xx
    t = await createTestApp({ plugins: ['error-handler'] });
    admin = await t.signIn();
    const res = await t.agent(admin).post('mailAccounts:create', peers.accountValues(alice));
    expect(res.status).toBe(200);
    accountId = res.body.data.id;
  });

  afterAll(async () => {
    await t?.destroy();
    await peers?.stop();
  });

  const messages = () => t.db.getModel('mailMessages');
  const syncNow = async () => {
    const res = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: accountId });
    expect(res.status).toBe(200);
    return res.body.data;
  };
  const download = (attachmentId: unknown) =>
    fetch(`${t.url}/api/mailAttachments:download?filterByTk=${attachmentId}`, { headers: { Authorization: `Bearer ${admin}`, 'X-Authenticator': 'basic' } });

  it('tests the connection: SMTP and IMAP answer, folders listed', async () => {
    const res = await t.agent(admin).post('mailAccounts:test', {}, { filterByTk: accountId });
    expect(res.status).toBe(200);
    expect(res.body.data.ok).toBe(true);
    expect(res.body.data.steps.map((s: any) => s.name)).toEqual(expect.arrayContaining(['smtp', 'imap']));
  });

  it('reports a wrong password as AUTH_FAILED in the test, without the password', async () => {
    const res = await t.agent(admin).post('mailAccounts:test', { secrets: { password: 'wrong-pw-x1' } }, { filterByTk: accountId });
    expect(res.body.data.ok).toBe(false);
    expect(JSON.stringify(res.body)).toMatch(/AUTH_FAILED/);
    expect(res.text).not.toContain('wrong-pw-x1');
  });

  it('syncs 1,000 seeded messages once each, with threads and attachment metadata', async () => {
    const seeded = Array.from({ length: 1000 }, (_, i) => makeMessage(i));
    await seedMaildir(peers.dovecot, alice.user, 'INBOX', seeded);
    const outcome = await syncNow();
    expect(outcome.ok).toBe(true);
    expect(await messages().count({ where: { accountId, folder: 'INBOX' } })).toBe(1000);
    const again = await syncNow();
    expect(again.ok).toBe(true);
    expect(await messages().count({ where: { accountId, folder: 'INBOX' } })).toBe(1000);
    const account = await t.db.getRepository('mailAccounts').findOne({ filterByTk: accountId });
    expect(account.get('status')).toBe('ok');
    expect(account.get('lastSuccessAt')).toBeTruthy();
    const state = await t.db.getModel('mailSyncState').findOne({ where: { accountId, folder: 'INBOX' } });
    expect(state.get('cursor')).toBeTruthy();
  });

  it('sends through the outbox with an attachment and a non-ASCII subject; it arrives and is stored once', async () => {
    const content = Buffer.from('%PDF-1.4 Grüße\n' + 'x'.repeat(5000));
    const res = await t.agent(admin).post('mailMessages:send', {
      accountId,
      to: [bob.user],
      subject: 'Grüße – Überweisung',
      text: 'Hallo Bob, anbei die Überweisung.',
      attachments: [{ filename: 'Überweisung.pdf', contentType: 'application/pdf', contentBase64: content.toString('base64') }],
    });
    expect(res.status).toBe(200);
    expect(res.body.data.state).toBe('sent');
    expect(res.body.data.accepted).toEqual([bob.user]);
    const messageId = res.body.data.messageId;
    const received = peers.sink.received.find((m) => m.raw.toString().includes(messageId.slice(1, -1)));
    expect(received).toBeTruthy();

    const stored = await messages().findAll({ where: { messageId } });
    expect(stored).toHaveLength(1);
    const entry = await t.db.getModel('mailOutbox').findOne({ where: { messageId } });
    expect(entry.get('createdById')).toBe(1);
    expect(stored[0].get('direction')).toBe('out');
    // Until the sync meets the Sent copy, the file is served from the outbox entry.
    const held = await t.db.getModel('mailAttachments').findAll({ where: { mailMessageId: stored[0].get('id') } });
    expect(held.map((f: any) => [f.get('filename'), f.get('size'), f.get('partId')])).toEqual([['Überweisung.pdf', content.length, `outbox:${entry.get('id')}:0`]]);
    const early = await download(held[0].get('id'));
    expect(early.headers.get('content-length')).toBe(String(content.length));
    expect(Buffer.from(await early.arrayBuffer()).equals(content)).toBe(true);

    // The copy appended to Sent is adopted by the next sync instead of being stored twice.
    await syncNow();
    const afterSync = await messages().findAll({ where: { messageId } });
    expect(afterSync).toHaveLength(1);
    expect(afterSync[0].get('providerId')).not.toMatch(/^outbox:/);
    // and with it the copy's attachment, which the Sent folder serves from now on
    const files = await t.db.getModel('mailAttachments').findAll({ where: { mailMessageId: afterSync[0].get('id') } });
    expect(files.map((f: any) => f.get('filename'))).toEqual(['Überweisung.pdf']);
    expect(files[0].get('partId')).not.toMatch(/^outbox:/);
    const fromSent = await download(files[0].get('id'));
    expect(fromSent.status).toBe(200);
    expect(Buffer.from(await fromSent.arrayBuffer()).equals(content)).toBe(true);
    // the outbox entry no longer holds the file (no file manager in this app: it held it until now)
    await entry.reload();
    expect(entry.get('message').attachments).toEqual([{ filename: 'Überweisung.pdf', contentType: 'application/pdf', size: content.length }]);
  });

  it('stores a mail to oneself once as sent (Sent folder) and once as received (INBOX), in one thread', async () => {
    const res = await t.agent(admin).post('mailMessages:send', { accountId, to: [alice.user], subject: 'Notiz an mich', text: 'x' });
    const messageId = res.body.data.messageId;
    await syncNow();
    const rows = await messages().findAll({ where: { messageId }, order: [['direction', 'ASC']] });
    expect(rows.map((r: any) => [r.get('direction'), r.get('folder')])).toEqual([
      ['in', 'INBOX'],
      ['out', 'Sent'],
    ]);
    expect(String(rows[0].get('threadId'))).toBe(String(rows[1].get('threadId')));
  });

  it('stores a sent mail whose body holds U+0000 without it, as its received copy reads (PostgreSQL text cannot hold it)', async () => {
    const res = await t.agent(admin).post('mailMessages:send', { accountId, to: [alice.user], subject: 'Nul im Text', text: 'vor\u0000nach', html: '<p>a\u0000b</p>' });
    expect(res.body.data.state).toBe('sent');
    await syncNow();
    const rows = await messages().findAll({ where: { messageId: res.body.data.messageId }, order: [['direction', 'ASC']] });
    expect(rows.map((r: any) => [r.get('folder'), r.get('text'), r.get('html')])).toEqual([
      ['INBOX', 'vornach', '<p>ab</p>'],
      ['Sent', 'vornach', '<p>ab</p>'],
    ]);
  });

  it('refuses CR/LF in a header field and sends nothing', async () => {
    const before = peers.sink.received.length;
    const res = await t.agent(admin).post('mailMessages:send', {
      accountId,
      to: [bob.user],
      subject: 'Hello\r\nBcc: victim@example.test',
      text: 'x',
    });
    expect(res.status).toBe(400);
    expect(peers.sink.received.length).toBe(before);
  });

  it('threads a reply with the message it answers', async () => {
    const original = await messages().findOne({ where: { accountId, folder: 'INBOX' }, order: [['id', 'ASC']] });
    const reply = makeMessage(5001, { inReplyTo: original.get('messageId'), subject: 'Re: ' + original.get('subject') });
    await peers.dovecot.deliver(alice.user, reply);
    await syncNow();
    const stored = await messages().findOne({ where: { accountId, inReplyTo: original.get('messageId') } });
    expect(stored).toBeTruthy();
    expect(String(stored.get('threadId'))).toBe(String(original.get('threadId')));
  });

  it('lists folders with totals and streams an attachment byte-exact', async () => {
    const content = Buffer.from(Array.from({ length: 70000 }, (_, i) => i % 256));
    const raw = makeMessage(7001, {
      subject: 'Mit Anhang',
      attachments: [{ filename: 'Prüfbericht.bin', content, contentType: 'application/octet-stream' }],
    });
    await peers.dovecot.deliver(alice.user, raw);
    await syncNow();
    const folders = await t.agent(admin).get('mailMessages:folders', { accountId });
    expect(folders.body.data[0]).toMatchObject({ folder: 'INBOX', specialUse: 'inbox' });
    expect(folders.body.data[0].total).toBeGreaterThan(1000);
    const message = await messages().findOne({ where: { accountId, subject: 'Mit Anhang' } });
    const got = await t.agent(admin).get('mailMessages:get', { filterByTk: message.get('id') });
    const attachment = got.body.data.attachments.find((a: any) => a.filename === 'Prüfbericht.bin');
    const res = await download(attachment.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain("filename*=UTF-8''Pr%C3%BCfbericht.bin");
    expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);
  });

  it('forwards a mail with its attachment: the file is read from the mailbox and arrives byte-exact', async () => {
    const content = Buffer.from(Array.from({ length: 70000 }, (_, i) => i % 256));
    const original = await messages().findOne({ where: { accountId, subject: 'Mit Anhang' } });
    const file = await t.db.getModel('mailAttachments').findOne({ where: { mailMessageId: original.get('id'), filename: 'Prüfbericht.bin' } });
    const outbox = t.db.getModel('mailOutbox');
    const res = await t.agent(admin).post('mailMessages:send', {
      accountId,
      to: [bob.user],
      subject: 'Fwd: Mit Anhang',
      text: 'Der Bericht, wie besprochen.',
      attachments: [
        { mailAttachmentId: file.get('id') },
        { filename: 'Notiz.txt', contentType: 'text/plain', contentBase64: Buffer.from('Bitte prüfen.').toString('base64') },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.data.state).toBe('sent');
    const messageId = res.body.data.messageId;
    const received = peers.sink.received.find((m) => m.raw.toString().includes(messageId.slice(1, -1)));
    const parsed = await simpleParser(received!.raw);
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['Prüfbericht.bin', 'Notiz.txt']);
    expect(parsed.attachments[0].contentType).toBe('application/octet-stream');
    expect(parsed.attachments[0].content.equals(content)).toBe(true);
    // the outbox holds the file itself: a retry does not depend on the original still being in the mailbox
    const entry = await outbox.findOne({ where: { messageId } });
    expect(Buffer.from(entry.get('message').attachments[0].contentBase64, 'base64').equals(content)).toBe(true);

    // an attachment that does not exist: 404, nothing queued
    const queued = await outbox.count();
    const missing = await t.agent(admin).post('mailMessages:send', {
      accountId,
      to: [bob.user],
      subject: 'Fwd: nothing',
      attachments: [{ mailAttachmentId: '987654321' }],
    });
    expect(missing.status).toBe(404);
    expect(await outbox.count()).toBe(queued);

    // the original is gone from the mailbox (deleted in another client, not synced yet): refused with the reason
    await peers.dovecot.deliver(alice.user, makeMessage(7002, { subject: 'Entwurf', attachments: [{ filename: 'Entwurf.bin', content: Buffer.from('v1'), contentType: 'application/octet-stream' }] }));
    await syncNow();
    const draft = await messages().findOne({ where: { accountId, subject: 'Entwurf' } });
    const draftFile = await t.db.getModel('mailAttachments').findOne({ where: { mailMessageId: draft.get('id') } });
    const imap = new ImapFlow({ host: peers.dovecot.host, port: peers.dovecot.imapPort, secure: false, auth: { user: alice.user, pass: alice.password }, logger: false });
    await imap.connect();
    await imap.mailboxOpen('INBOX');
    await imap.messageDelete(String(draft.get('providerId')), { uid: true });
    await imap.logout();
    const gone = await t.agent(admin).post('mailMessages:send', {
      accountId,
      to: [bob.user],
      subject: 'Fwd: Entwurf',
      attachments: [{ mailAttachmentId: draftFile.get('id') }],
    });
    expect(gone.status).toBe(502);
    expect(gone.body.errors[0].message).toMatch(/^"Entwurf\.bin" of the forwarded mail could not be read: .*"INBOX" was not found/);
    expect(await outbox.count()).toBe(queued);
  });

  it('reads all files of a forward on one mailbox session', async () => {
    const files = [
      { filename: 'Plan A.txt', content: Buffer.from('Plan A'), contentType: 'text/plain' },
      { filename: 'Plan B.bin', content: Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256)), contentType: 'application/octet-stream' },
    ];
    await peers.dovecot.deliver(alice.user, makeMessage(7003, { subject: 'Zwei Pläne', attachments: files }));
    await syncNow();
    const original = await messages().findOne({ where: { accountId, subject: 'Zwei Pläne' } });
    const stored = await t.db.getModel('mailAttachments').findAll({ where: { mailMessageId: original.get('id') }, order: [['id', 'ASC']] });
    const logins = () => peers.dovecot.logTail(100000).split('\n').filter((line) => line.includes(`Login: user=<${alice.user}>`)).length;
    const before = logins();
    const res = await t.agent(admin).post('mailMessages:send', {
      accountId,
      to: [bob.user],
      subject: 'Fwd: Zwei Pläne',
      attachments: stored.map((f: any) => ({ mailAttachmentId: f.get('id') })),
    });
    expect(res.body.data.state).toBe('sent');
    const received = peers.sink.received.find((m) => m.raw.toString().includes(res.body.data.messageId.slice(1, -1)));
    const parsed = await simpleParser(received!.raw);
    expect(parsed.attachments.map((a) => [a.filename, a.content.equals(files.find((f) => f.filename === a.filename)!.content)])).toEqual([
      ['Plan A.txt', true],
      ['Plan B.bin', true],
    ]);
    // one login reads both files, one appends the sent copy to Sent (before: one login per file)
    expect(logins() - before).toBe(2);
  });

  it('marks a mail read and unread for the user, in the app and in the mailbox', async () => {
    const message = await messages().findOne({ where: { accountId, folder: 'INBOX', seen: false } });
    const flagsOnServer = async () => {
      const client = new ImapFlow({ host: peers.dovecot.host, port: peers.dovecot.imapPort, secure: false, auth: { user: alice.user, pass: alice.password }, logger: false });
      await client.connect();
      try {
        await client.mailboxOpen('INBOX', { readOnly: true });
        const row = await client.fetchOne(String(message.get('providerId')), { flags: true }, { uid: true });
        return row ? [...(row.flags ?? [])] : null;
      } finally {
        await client.logout();
      }
    };
    expect(await flagsOnServer()).not.toContain('\\Seen');
    let res = await t.agent(admin).post('mailMessages:markSeen', { seen: true }, { filterByTk: message.get('id') });
    expect(res.body.data).toMatchObject({ seen: true, writtenBack: true });
    await message.reload();
    expect(message.get('flags')).toContain('\\Seen');
    expect(await flagsOnServer()).toContain('\\Seen');
    res = await t.agent(admin).post('mailMessages:markSeen', { seen: false }, { filterByTk: message.get('id') });
    expect(res.body.data).toMatchObject({ seen: false, writtenBack: true });
    await message.reload();
    expect(message.get('seen')).toBe(false);
    expect(message.get('flags')).not.toContain('\\Seen');
    expect(await flagsOnServer()).not.toContain('\\Seen');
    // the next sync finds the server in the same state and changes nothing back
    await syncNow();
    await message.reload();
    expect(message.get('seen')).toBe(false);
  });

  it('answers "Sync now" at once when asked not to wait, and the sync goes on in the background', async () => {
    const before = await messages().count({ where: { accountId, folder: 'INBOX' } });
    await seedMaildir(peers.dovecot, alice.user, 'INBOX', Array.from({ length: 30 }, (_, i) => makeMessage(5000 + i, { to: alice.user })));
    const res = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: accountId, waitMs: 0 });
    expect(res.body.data).toMatchObject({ ok: true, running: true });
    const deadline = Date.now() + 30_000;
    while ((await messages().count({ where: { accountId, folder: 'INBOX' } })) < before + 30 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await messages().count({ where: { accountId, folder: 'INBOX' } })).toBe(before + 30);
    // the background sync may still be on the Sent folder: a second one is refused as busy until it ends
    let done = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: accountId });
    while (done.body.data.skipped === 'busy' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      done = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: accountId });
    }
    expect(done.body.data).toMatchObject({ ok: true });
    expect(done.body.data.running).toBeUndefined();
  });

  it('shows a user only the accounts assigned to them', async () => {
    const users = t.db.getRepository('users');
    await users.create({ values: { email: 'member@example.test', password: 'member-pw-1', roles: ['member'] } });
    const member = await t.signIn('member@example.test', 'member-pw-1');
    const agent = t.agent(member);
    const list = await agent.get('mailMessages:list');
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([]);
    const some = await messages().findOne({ where: { accountId } });
    expect((await agent.get('mailMessages:get', { filterByTk: some.get('id') })).status).toBe(404);
    const send = await agent.post('mailMessages:send', { accountId, to: [bob.user], subject: 'x', text: 'y' });
    expect(send.status).toBe(404);
    expect((await agent.get('mailAccounts:listUsable')).body.data).toEqual([]);
    expect((await agent.get('mailMessages:folders', { accountId })).status).toBe(404);
    const attachment = await t.db.getModel('mailAttachments').findOne();
    expect((await agent.get('mailAttachments:download', { filterByTk: attachment.get('id') })).status).toBe(404);
    expect((await agent.get('mailAccounts:list')).status).toBe(403);

    const userId = (await users.findOne({ filter: { email: 'member@example.test' } })).get('id');
    await t.agent(admin).post('mailAccounts:update', { userIds: [userId] }, { filterByTk: accountId });
    expect((await agent.get('mailAccounts:listUsable')).body.data.map((a: any) => a.address)).toEqual([alice.user]);
    const allowed = await agent.get('mailMessages:list', { accountId, pageSize: 5 });
    expect(allowed.body.meta.count).toBeGreaterThan(1000);
    expect(allowed.body.data).toHaveLength(5);

    // forwarding a file of an account the member may not use, through one they may: 404, nothing queued
    const bobAccount = (await t.agent(admin).post('mailAccounts:create', peers.accountValues(bob))).body.data.id;
    await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: bobAccount });
    const bobMail = await messages().findOne({ where: { accountId: bobAccount, hasAttachments: true } });
    const bobFile = await t.db.getModel('mailAttachments').findOne({ where: { mailMessageId: bobMail.get('id') } });
    const queued = await t.db.getModel('mailOutbox').count();
    const forward = await agent.post('mailMessages:send', { accountId, to: [bob.user], subject: 'Fwd', attachments: [{ mailAttachmentId: bobFile.get('id') }] });
    expect(forward.status).toBe(404);
    expect(await t.db.getModel('mailOutbox').count()).toBe(queued);
  });

  it('marks the account as failing after a sync with a wrong password, and keeps the stored mail', async () => {
    const before = await messages().count({ where: { accountId } });
    await t.agent(admin).post('mailAccounts:update', { secrets: { password: 'now-wrong-pw' } }, { filterByTk: accountId });
    const outcome = await syncNow();
    expect(outcome.ok).toBe(false);
    expect(outcome.error.code).toBe('AUTH_FAILED');
    const account = await t.db.getRepository('mailAccounts').findOne({ filterByTk: accountId });
    expect(account.get('status')).toBe('error');
    expect(account.get('consecutiveFailures')).toBe(1);
    expect(account.get('lastError')).toBeTruthy();
    expect(account.get('lastError')).not.toContain('now-wrong-pw');
    expect(await messages().count({ where: { accountId } })).toBe(before);
    // the code travels with the text, so the settings page can say it in the user's language
    const shown = (await t.agent(admin).get('mailAccounts:get', { filterByTk: accountId })).body.data;
    expect(shown).toMatchObject({ status: 'error', lastErrorCode: 'AUTH_FAILED' });

    await t.agent(admin).post('mailAccounts:update', { secrets: { password: alice.password } }, { filterByTk: accountId });
    expect((await syncNow()).ok).toBe(true);
    const healthy = (await t.agent(admin).get('mailAccounts:get', { filterByTk: accountId })).body.data;
    expect(healthy).toMatchObject({ status: 'ok', lastError: null, lastErrorCode: null, consecutiveFailures: 0 });
  });
});
