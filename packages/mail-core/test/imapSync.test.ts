import { chmod, readdir } from 'node:fs/promises';
import path from 'node:path';
import { makeMessage, seedMaildir, startDovecot, type Dovecot } from '@mailbridge/mail-testkit';
import { createSource, type MailSource } from '@mailbridge/mail-core';
import { ALICE, FolderStore, accountFor, expectMailError, merged, rawClient, streamToBuffer } from './helpers';

let dc: Dovecot;
const sources: MailSource[] = [];
let userCount = 0;

/** A fresh mailbox per test, so tests cannot see each other's mail. */
async function freshUser() {
  const user = { user: `user${++userCount}@example.test`, password: `pw-${userCount}-secret` };
  await dc.addUser(user);
  return user;
}

function sourceFor(user: { user: string; password: string }, onImapCommand?: (line: string) => void): MailSource {
  const source = createSource(
    { ...accountFor(dc), address: user.user, auth: { method: 'password', password: user.password } },
    onImapCommand ? { onImapCommand } : {},
  );
  sources.push(source);
  return source;
}

beforeAll(async () => {
  dc = await startDovecot({ users: [ALICE] });
});

afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await dc?.destroy();
});

/** The user's INBOX message files in UID order (the testkit names them in delivery order). */
async function maildirFiles(user: string): Promise<string[]> {
  const [local, domain] = user.split('@');
  const cur = path.join(dc.dir, 'mail', domain, local, 'Maildir', 'cur');
  return (await readdir(cur)).sort().map((f) => path.join(cur, f));
}

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `<test-${i + from}@mailbridge.test>`);

describe('IMAP sync', () => {
  it('a smaller first batch, then batches of batchSize: every message once, in order', async () => {
    const user = await freshUser();
    await seedMaildir(dc, user.user, 'INBOX', Array.from({ length: 250 }, (_, i) => makeMessage(i)));
    const store = new FolderStore();
    const batches = await store.sync(sourceFor(user), 'INBOX', { batchSize: 100, firstBatchSize: 30 });
    expect(batches.map((b) => b.added.length)).toEqual([30, 100, 100, 20]);
    expect(merged(batches).added.map((m) => Number(m.providerId))).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
  });

  it('initial sync of 1,000 messages: every message once, in batches, with a final cursor', async () => {
    const user = await freshUser();
    await seedMaildir(dc, user.user, 'INBOX', Array.from({ length: 1000 }, (_, i) => makeMessage(i)));
    const store = new FolderStore();
    const batches = await store.sync(sourceFor(user), 'INBOX', { batchSize: 300 });

    expect(batches.map((b) => b.added.length)).toEqual([300, 300, 300, 100]);
    const added = merged(batches).added;
    expect(added).toHaveLength(1000);
    expect(new Set(added.map((m) => m.providerId)).size).toBe(1000);
    expect(added.map((m) => m.messageId).sort()).toEqual(ids(1000).sort());
    const m7 = added.find((m) => m.messageId === '<test-7@mailbridge.test>')!;
    expect(m7.subject).toBe('Test message 7');
    expect(m7.from).toEqual({ name: 'Sender 7', address: 'sender7@example.test' });
    expect(m7.to).toEqual([{ address: 'alice@example.test' }]);
    expect(m7.replyTo).toEqual([]);
    expect(m7.date.toISOString()).toBe(new Date(Date.UTC(2024, 0, 1) + 7 * 60_000).toISOString());
    expect(m7.text).toMatch(/^This is test message 7\./);
    expect(m7.snippet.startsWith('This is test message 7.')).toBe(true);
    expect(m7.hasAttachments).toBe(false);
    expect(store.cursor).toMatchObject({ uidNext: 1001, uids: '1:1000', messages: 1000 });
    expect(store.cursor!.highestModseq).toMatch(/^\d+$/);
  });

  it('incremental: reports exactly 3 new, 2 re-flagged and 1 deleted message', async () => {
    const user = await freshUser();
    await seedMaildir(dc, user.user, 'INBOX', Array.from({ length: 20 }, (_, i) => makeMessage(i)));
    const source = sourceFor(user);
    const store = new FolderStore();
    await store.sync(source, 'INBOX');
    expect(store.rows.size).toBe(20);

    for (const i of [100, 101, 102]) await dc.deliver(user.user, makeMessage(i));
    const client = await rawClient(dc, user);
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        await client.messageFlagsAdd('3,4', ['\\Flagged'], { uid: true });
        await client.messageDelete('5', { uid: true });
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }

    const changes = merged(await store.sync(source, 'INBOX'));
    expect(changes.reset).toBe(false);
    expect(changes.added.map((m) => m.messageId).sort()).toEqual(ids(3, 100).sort());
    expect(changes.changed.map((c) => c.providerId).sort()).toEqual(['3', '4']);
    for (const c of changes.changed) expect(c.flags).toContain('\\Flagged');
    expect(changes.deleted).toEqual(['5']);
    expect(store.rows.size).toBe(22);
    expect(store.flags.get('3')).toContain('\\Flagged');

    // and after that, nothing more
    const again = merged(await store.sync(source, 'INBOX'));
    expect([again.added.length, again.changed.length, again.deleted.length]).toEqual([0, 0, 0]);
  });

  it('deletions are found without QRESYNC too (UID SEARCH ALL against the cursor)', async () => {
    const user = await freshUser();
    await seedMaildir(dc, user.user, 'INBOX', Array.from({ length: 10 }, (_, i) => makeMessage(i)));
    const source = sourceFor(user);
    const store = new FolderStore();
    await store.sync(source, 'INBOX');
    const client = await rawClient(dc, user);
    try {
      const lock = await client.getMailboxLock('INBOX');
      await client.messageDelete('2,9', { uid: true });
      lock.release();
    } finally {
      await client.logout();
    }
    // a cursor from a server without CONDSTORE has no modseq: the sync has to diff UID sets
    delete store.cursor!.highestModseq;
    const changes = merged(await store.sync(source, 'INBOX'));
    expect(changes.deleted.sort()).toEqual(['2', '9']);
    expect(store.rows.size).toBe(8);
  });

  it('a no-change poll sends one STATUS and no SELECT or FETCH', async () => {
    const user = await freshUser();
    await seedMaildir(dc, user.user, 'INBOX', Array.from({ length: 5 }, (_, i) => makeMessage(i)));
    const commands: string[] = [];
    const source = sourceFor(user, (line) => commands.push(line));
    const store = new FolderStore();
    await store.sync(source, 'INBOX');
    expect(commands.some((c) => /\bFETCH\b/.test(c))).toBe(true); // the logger does see commands

    commands.length = 0;
    const before = JSON.stringify(store.cursor);
    const poll = await store.sync(source, 'INBOX');
    expect(poll).toHaveLength(1);
    expect(merged(poll).added).toHaveLength(0);
    expect(JSON.stringify(store.cursor)).toBe(before);
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatch(/ STATUS INBOX \(/);
    expect(commands.filter((c) => /\b(SELECT|EXAMINE|FETCH|SEARCH)\b/.test(c))).toEqual([]);
  });

  it('UIDVALIDITY change: a reset batch, then the folder anew, without duplicates', async () => {
    const user = await freshUser();
    const client = await rawClient(dc, user);
    const source = sourceFor(user);
    const store = new FolderStore();
    try {
      await client.mailboxCreate('Projekte');
      await seedMaildir(dc, user.user, 'Projekte', Array.from({ length: 6 }, (_, i) => makeMessage(i)));
      await store.sync(source, 'Projekte');
      expect(store.rows.size).toBe(6);
      const oldValidity = store.cursor!.uidValidity;

      await client.mailboxDelete('Projekte');
      await client.mailboxCreate('Projekte');
      await seedMaildir(dc, user.user, 'Projekte', Array.from({ length: 4 }, (_, i) => makeMessage(i + 50)));

      const batches = await store.sync(source, 'Projekte');
      expect(batches[0].reset).toBe(true);
      expect(batches[0].added).toHaveLength(0);
      expect(batches.slice(1).some((b) => b.reset)).toBe(false);
      expect(store.cursor!.uidValidity).not.toBe(oldValidity);
      expect([...store.rows.values()].map((m) => m.messageId).sort()).toEqual(ids(4, 50).sort());
      expect(store.added).toBe(10);
    } finally {
      await client.logout();
    }
  });

  it('initialWindowDays: the first sync takes only recent mail, later syncs take all new mail', async () => {
    const user = await freshUser();
    const now = Date.now();
    const old = Array.from({ length: 5 }, (_, i) => makeMessage(i, { date: new Date(now - (60 + i) * 86_400_000) }));
    const recent = Array.from({ length: 3 }, (_, i) => makeMessage(10 + i, { date: new Date(now - (i + 1) * 86_400_000) }));
    await seedMaildir(dc, user.user, 'INBOX', [...old, ...recent]);
    const source = sourceFor(user);
    const store = new FolderStore();
    await store.sync(source, 'INBOX', { initialWindowDays: 30 });
    expect([...store.rows.values()].map((m) => m.messageId).sort()).toEqual(ids(3, 10).sort());
    expect(store.cursor!.windowSince).toBeUndefined();

    await dc.deliver(user.user, makeMessage(99, { date: new Date(now - 400 * 86_400_000) }));
    const later = merged(await store.sync(source, 'INBOX', { initialWindowDays: 30 }));
    expect(later.added.map((m) => m.messageId)).toEqual(['<test-99@mailbridge.test>']);
  });

  it('a malformed message (broken boundary, unknown charset, garbage structure) does not stop the batch', async () => {
    const user = await freshUser();
    const brokenBoundary = Buffer.from(
      [
        'From: Broken <broken@example.test>',
        'To: alice@example.test',
        'Subject: broken boundary',
        'Message-ID: <broken-1@example.test>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="AAA"',
        '',
        '--BBB',
        'Content-Type: text/plain',
        '',
        'text behind a boundary that was never declared',
        '--BBB--',
        '',
      ].join('\r\n'),
    );
    const badCharset = Buffer.concat([
      Buffer.from(
        [
          'From: =?x-unknown-charset?Q?Gr=FC=DFe?= <charset@example.test>',
          'To: alice@example.test',
          'Subject: =?x-unknown?B?////?= bad charset',
          'Message-ID: <broken-2@example.test>',
          'MIME-Version: 1.0',
          'Content-Type: text/plain; charset="x-does-not-exist"',
          'Content-Transfer-Encoding: quoted-printable',
          '',
          'Gr=FC=DFe =ZZ and raw bytes: ',
        ].join('\r\n'),
      ),
      Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x0d, 0x0a]),
    ]);
    const badBase64 = Buffer.from(
      [
        'From: b64@example.test',
        'To: alice@example.test',
        'Subject: bad base64 and a nested mess',
        'Message-ID: <broken-3@example.test>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative; boundary="x"',
        '',
        '--x',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: base64',
        '',
        '!!!not base64 at all ### ===',
        '--x',
        'Content-Type: text/html; charset=iso-8859-1',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        '<p>Gr=FC=DFe</p>',
        '',
      ].join('\r\n'),
    );
    const messages = [makeMessage(0), brokenBoundary, makeMessage(1), badCharset, badBase64, makeMessage(2), makeMessage(3), makeMessage(4)];
    await seedMaildir(dc, user.user, 'INBOX', messages);
    // and one message file the server cannot read at all: dovecot answers its FETCH with BYE
    const files = await maildirFiles(user.user);
    expect(files).toHaveLength(8);
    await chmod(files[6], 0o000);

    const store = new FolderStore();
    const added = merged(await store.sync(sourceFor(user), 'INBOX')).added;
    expect(added).toHaveLength(8);
    expect(added.map((m) => m.providerId)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    const byId = new Map(added.map((m) => [m.messageId, m]));
    for (const id of [...ids(3), '<test-4@mailbridge.test>']) {
      expect(byId.get(id)?.text).toMatch(/^This is test message/);
      expect(byId.get(id)?.parseError).toBeUndefined();
    }
    // the boundary matches nothing: the whole body is the text
    expect(byId.get('<broken-1@example.test>')?.subject).toBe('broken boundary');
    expect(byId.get('<broken-1@example.test>')?.text).toContain('text behind a boundary that was never declared');
    // an unknown charset that is not UTF-8 is read as Windows-1252
    expect(byId.get('<broken-2@example.test>')?.from?.address).toBe('charset@example.test');
    expect(byId.get('<broken-2@example.test>')?.text).toContain('Grüße =ZZ and raw bytes');
    expect(byId.get('<broken-3@example.test>')?.html).toContain('Grüße');
    // the unreadable one is there, marked, and the sync went on past it
    const unreadable = added.find((m) => m.providerId === '7')!;
    expect(unreadable.parseError).toMatch(/could not read/);
    expect(added.find((m) => m.providerId === '8')?.messageId).toBe('<test-4@mailbridge.test>');
    expect(store.cursor).toMatchObject({ uidNext: 9, uids: '1:8' });
  });

  it('downloads attachments byte-exact, streamed, with the decoded file name', async () => {
    const user = await freshUser();
    const pdf = Buffer.alloc(300_000);
    for (let i = 0; i < pdf.length; i++) pdf[i] = (i * 31 + 7) % 256;
    await seedMaildir(dc, user.user, 'INBOX', [
      makeMessage(0, { attachments: [{ filename: 'Grüße – Überweisung.pdf', contentType: 'application/pdf', content: pdf }, { filename: 'b.txt', contentType: 'text/plain', content: Buffer.from('tsch\xfc\xdf', 'latin1') }] }),
    ]);
    const source = sourceFor(user);
    const store = new FolderStore();
    await store.sync(source, 'INBOX');
    const [msg] = [...store.rows.values()];
    expect(msg.hasAttachments).toBe(true);
    expect(msg.attachments.map((a) => a.filename)).toEqual(['Grüße – Überweisung.pdf', 'b.txt']);
    expect(Math.abs(msg.attachments[0].size - pdf.length)).toBeLessThan(pdf.length * 0.02);

    const first = await source.downloadAttachment('INBOX', msg.providerId, msg.attachments[0].partId);
    expect(first.filename).toBe('Grüße – Überweisung.pdf');
    expect(first.contentType).toBe('application/pdf');
    expect((await streamToBuffer(first.stream)).equals(pdf)).toBe(true);
    // a text attachment keeps its bytes (no charset conversion)
    const second = await source.downloadAttachment('INBOX', msg.providerId, msg.attachments[1].partId);
    expect((await streamToBuffer(second.stream)).equals(Buffer.from('tsch\xfc\xdf', 'latin1'))).toBe(true);
  });

  it('appends a sent message to the Sent folder (special-use) and finds it there, seen', async () => {
    const user = await freshUser();
    const source = sourceFor(user);
    const folders = await source.listFolders();
    expect(folders.find((f) => f.specialUse === 'sent')?.path).toBe('Sent');
    expect(folders.find((f) => f.specialUse === 'inbox')?.path).toBe('INBOX');
    const appended = await source.appendToFolder('sent', makeMessage(77), ['\\Seen']);
    expect(appended.path).toBe('Sent');
    const store = new FolderStore();
    await store.sync(source, 'Sent');
    const [msg] = [...store.rows.values()];
    expect(msg.messageId).toBe('<test-77@mailbridge.test>');
    expect(msg.flags).toContain('\\Seen');
    expect(msg.providerId).toBe(appended.providerId);
  });

  it('watch() calls back on new mail (IDLE) and stops', async () => {
    const user = await freshUser();
    const source = sourceFor(user);
    const events: string[] = [];
    let wake: () => void = () => undefined;
    const woke = new Promise<void>((resolve) => (wake = resolve));
    const stop = await source.watch('INBOX', (e) => {
      events.push(e.kind);
      wake();
    });
    await dc.deliver(user.user, makeMessage(1));
    await woke;
    expect(events).toContain('exists');
    await stop();
  });

  it('an aborted sync stops with ABORTED between batches and resumes from the persisted cursor', async () => {
    const user = await freshUser();
    await seedMaildir(dc, user.user, 'INBOX', Array.from({ length: 50 }, (_, i) => makeMessage(i)));
    const source = sourceFor(user);
    const store = new FolderStore();
    const controller = new AbortController();
    const iterator = source.syncFolder('INBOX', null, { batchSize: 20, signal: controller.signal })[Symbol.asyncIterator]();
    store.apply((await iterator.next()).value);
    controller.abort();
    await expectMailError(iterator.next(), 'ABORTED');
    await store.sync(source, 'INBOX', { batchSize: 20 });
    expect(store.rows.size).toBe(50);
    expect(store.added).toBe(50);
  });

  it('dovecot killed mid-sync: CONNECTION_LOST, then a sync from the last persisted cursor yields every message exactly once', async () => {
    const user = await freshUser();
    await seedMaildir(dc, user.user, 'INBOX', Array.from({ length: 1000 }, (_, i) => makeMessage(i)));
    const source = sourceFor(user);
    const store = new FolderStore();
    const iterator = source.syncFolder('INBOX', null, { batchSize: 100 })[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) {
      const { value, done } = await iterator.next();
      expect(done).toBe(false);
      store.apply(value);
    }
    expect(store.rows.size).toBe(300);
    await dc.kill();
    try {
      const err = await expectMailError(iterator.next(), 'CONNECTION_LOST');
      expect(err.retryable).toBe(true);
    } finally {
      await dc.start();
    }
    await store.sync(source, 'INBOX', { batchSize: 100 });
    expect(store.rows.size).toBe(1000);
    expect(store.added).toBe(1000); // FolderStore throws on a duplicate add
    expect(new Set([...store.rows.values()].map((m) => m.messageId)).size).toBe(1000);
  });
});
