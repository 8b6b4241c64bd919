import net from 'node:net';
import { existsSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { dovecotBinary, makeMessage, seedMaildir, startDovecot, type Dovecot } from '@mailbridge/mail-testkit';
import { ImapWire, login, status } from './imapWire';

const alice = { user: 'alice@example.test', password: 'alice-secret' };
const bob = { user: 'bob@example.test', password: 'bob-secret' };
const timings: Record<string, number> = {};

let dovecot: Dovecot;

beforeAll(async () => {
  const started = Date.now();
  dovecot = await startDovecot({ users: [alice, bob] });
  timings['startDovecot (ms)'] = Date.now() - started;
});

afterAll(async () => {
  await dovecot?.destroy();
  // eslint-disable-next-line no-console
  console.info('mail-testkit timings', timings);
});

async function loggedIn(user = alice, d: Dovecot = dovecot): Promise<ImapWire> {
  const wire = await ImapWire.connect(d.imapPort);
  const r = await login(wire, user.user, user.password);
  if (r.status !== 'OK') throw new Error(`LOGIN failed: ${r.text}\n${d.logTail()}`);
  return wire;
}

test('dovecot is installed and greets on 127.0.0.1', async () => {
  expect(dovecotBinary()).toBeTruthy();
  expect(dovecot.host).toBe('127.0.0.1');
  const wire = await ImapWire.connect(dovecot.imapPort);
  expect(wire.greeting).toMatch(/^\* OK /);
  expect(wire.greeting).toContain('AUTH=PLAIN');
  wire.close();
});

test('LOGIN works and CAPABILITY lists CONDSTORE, QRESYNC, IDLE, SPECIAL-USE', async () => {
  const wire = await loggedIn();
  const r = await wire.command('CAPABILITY');
  const caps = r.untagged.find((l) => l.text.startsWith('* CAPABILITY'))!.text.split(' ');
  expect(caps).toEqual(expect.arrayContaining(['CONDSTORE', 'QRESYNC', 'IDLE', 'SPECIAL-USE', 'UIDPLUS', 'MOVE']));
  await wire.command('LOGOUT');
  wire.close();
});

test('a wrong password is rejected', async () => {
  const wire = await ImapWire.connect(dovecot.imapPort);
  const r = await login(wire, alice.user, 'wrong');
  expect(r.status).toBe('NO');
  expect(r.text).toContain('AUTHENTICATIONFAILED');
  wire.close();
});

test('the five folders exist, subscribed, with their special-use flags (seen through imapflow)', async () => {
  const client = new ImapFlow({
    host: dovecot.host,
    port: dovecot.imapPort,
    secure: false,
    auth: { user: alice.user, pass: alice.password },
    logger: false,
  });
  await client.connect();
  try {
    const folders = await client.list();
    const byPath = Object.fromEntries(folders.map((f) => [f.path, f]));
    expect(Object.keys(byPath).sort()).toEqual(['Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    expect(byPath.Sent.specialUse).toBe('\\Sent');
    expect(byPath.Drafts.specialUse).toBe('\\Drafts');
    expect(byPath.Trash.specialUse).toBe('\\Trash');
    expect(byPath.Junk.specialUse).toBe('\\Junk');
    for (const f of folders) expect(f.subscribed).toBe(true);
    expect(folders[0].delimiter).toBe('/');
  } finally {
    await client.logout();
  }
});

test('seedMaildir: 1,000 messages are visible in order, seen flag honoured, new folders appear', async () => {
  const messages = Array.from({ length: 1000 }, (_, i) => makeMessage(i));
  await seedMaildir(dovecot, alice.user, 'INBOX', messages);
  await seedMaildir(dovecot, alice.user, 'Sent', [makeMessage(5000), makeMessage(5001)], { seen: true });
  await seedMaildir(dovecot, alice.user, 'Projekte/Entwürfe & Co', [makeMessage(6000)]);

  const wire = await loggedIn();
  expect(await status(wire, 'INBOX')).toMatchObject({ MESSAGES: 1000, UNSEEN: 1000, UIDNEXT: 1001 });
  expect(await status(wire, 'Sent')).toMatchObject({ MESSAGES: 2, UNSEEN: 0 });
  // modified UTF-7 name on the wire
  expect(await status(wire, 'Projekte/Entw&APw-rfe &- Co')).toMatchObject({ MESSAGES: 1 });

  await wire.command('SELECT INBOX');
  const fetched = await wire.command('UID FETCH 1,1000 (BODY.PEEK[] INTERNALDATE)');
  const [first, last] = fetched.untagged.filter((l) => l.text.includes('FETCH'));
  expect(first.literals[0].equals(messages[0])).toBe(true);
  expect(last.literals[0].equals(messages[999])).toBe(true);
  // INTERNALDATE comes from the Date: header (file mtime): message 999 is 999 minutes after 2024-01-01
  const internalDate = /INTERNALDATE "([^"]+)"/.exec(last.text)![1].replace(/-/g, ' ');
  expect(new Date(internalDate).toISOString()).toBe('2024-01-01T16:39:00.000Z');
  await wire.command('LOGOUT');
  wire.close();
});

test('seedMaildir: 10,000 messages (timing)', async () => {
  const messages = Array.from({ length: 10000 }, (_, i) => makeMessage(i, { bodyBytes: 2048 }));
  const started = Date.now();
  await seedMaildir(dovecot, bob.user, 'INBOX', messages);
  timings['seedMaildir 10k x ~2.4 KB (ms)'] = Date.now() - started;
  const wire = await loggedIn(bob);
  const indexed = Date.now();
  expect(await status(wire, 'INBOX', 'MESSAGES')).toMatchObject({ MESSAGES: 10000 });
  timings['first STATUS after seeding 10k, dovecot indexes (ms)'] = Date.now() - indexed;
  wire.close();
});

test('deliver() goes through LMTP; IDLE sees it; unknown recipients are refused', async () => {
  const wire = await loggedIn();
  await wire.command('SELECT Trash');
  wire.writeLine('i1 IDLE');
  await wire.waitForLine(/^\+ /);
  const exists = wire.waitForLine(/^\* 1 EXISTS/);
  const raw = makeMessage(42, { subject: 'via LMTP' });
  await dovecot.deliver(alice.user.replace('@', '+Trash@'), raw); // +detail goes to the same user (INBOX)
  await seedMaildir(dovecot, alice.user, 'Trash', [makeMessage(43)]); // IDLE notices files too (inotify)
  await exists;
  wire.writeLine('DONE');
  await wire.waitForLine(/^i1 OK/);
  wire.close();

  await expect(dovecot.deliver('nobody@example.test', raw)).rejects.toMatchObject({
    name: 'LmtpDeliveryError',
    code: 550,
  });
});

test('kill() then start() keeps ports, users and data', async () => {
  const before = await loggedIn();
  const inboxBefore = await status(before, 'INBOX', 'MESSAGES UIDVALIDITY UIDNEXT');
  before.close();
  const port = dovecot.imapPort;
  const session = await loggedIn(); // its imap process must die with the master

  await dovecot.kill();
  await expect(session.command('NOOP')).rejects.toThrow();
  await expect(ImapWire.connect(port)).rejects.toThrow();
  const started = Date.now();
  await dovecot.start();
  timings['restart after kill (ms)'] = Date.now() - started;

  expect(dovecot.imapPort).toBe(port);
  const after = await loggedIn();
  expect(await status(after, 'INBOX', 'MESSAGES UIDVALIDITY UIDNEXT')).toEqual(inboxBefore);
  after.close();
});

test('stop() is graceful and start() comes back; addUser works without a restart', async () => {
  const started = Date.now();
  await dovecot.stop();
  timings['graceful stop (ms)'] = Date.now() - started;
  await dovecot.start();
  await dovecot.addUser({ user: 'Carol@Example.test', password: 'carol' });
  const wire = await loggedIn({ user: 'carol@example.test', password: 'carol' });
  expect(await status(wire, 'INBOX', 'MESSAGES')).toEqual({ MESSAGES: 0 });
  wire.close();
  await dovecot.addUser({ user: 'carol@example.test', password: 'changed' });
  const again = await ImapWire.connect(dovecot.imapPort);
  expect((await login(again, 'carol@example.test', 'changed')).status).toBe('OK');
  again.close();
});

test('two dovecots run side by side without sharing anything', async () => {
  const other = await startDovecot({ users: [alice] });
  try {
    expect(other.dir).not.toBe(dovecot.dir);
    expect([other.imapPort, other.lmtpPort]).not.toContain(dovecot.imapPort);
    await other.deliver(alice.user, makeMessage(1));
    const a = await loggedIn(alice, other);
    expect(await status(a, 'INBOX', 'MESSAGES')).toEqual({ MESSAGES: 1 });
    a.close();
    const b = await loggedIn(alice, dovecot);
    expect((await status(b, 'INBOX', 'MESSAGES')).MESSAGES).toBeGreaterThanOrEqual(1000);
    b.close();
  } finally {
    await other.destroy();
  }
  expect(existsSync(other.dir)).toBe(false);
});

test('quotaBytes: over-quota delivery and APPEND are refused', async () => {
  const small = await startDovecot({ users: [alice], quotaBytes: 4000 });
  try {
    await small.deliver(alice.user, makeMessage(1, { bodyBytes: 2500 }));
    await expect(small.deliver(alice.user, makeMessage(2, { bodyBytes: 2500 }))).rejects.toMatchObject({ code: 552 });
    const wire = await loggedIn(alice, small);
    const r = await wire.command('APPEND INBOX', makeMessage(3, { bodyBytes: 2500 }));
    expect(r.status).toBe('NO');
    expect(r.text).toContain('[OVERQUOTA]');
    wire.close();
  } finally {
    await small.destroy();
  }
});

test('tls: implicit TLS on imapsPort with a self-signed cert; plain talk to it fails', async () => {
  const secure = await startDovecot({ users: [alice], tls: true });
  try {
    expect(secure.imapsPort).toBeGreaterThan(0);
    const wire = await ImapWire.connect(secure.imapsPort!, { tls: { ca: secure.tlsCertPem, servername: 'localhost' } });
    expect((await login(wire, alice.user, alice.password)).status).toBe('OK');
    wire.close();
    // a plain client on the TLS port never gets a greeting
    await expect(ImapWire.connect(secure.imapsPort!, { greetingTimeoutMs: 500 })).rejects.toThrow(/no IMAP greeting/);
    // the plain port now offers STARTTLS
    const plain = await ImapWire.connect(secure.imapPort);
    expect(plain.greeting).toContain('STARTTLS');
    plain.close();
  } finally {
    await secure.destroy();
  }
});

test('a start that fails says why, with the tail of the dovecot log', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    await expect(startDovecot({ users: [alice], imapPort: port, startTimeoutMs: 5000 })).rejects.toThrow(
      /Address already in use/,
    );
  } finally {
    blocker.close();
  }
});
