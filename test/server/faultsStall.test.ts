import net from 'net';
import { makeMessage, seedMaildir, startDovecot, Dovecot } from '@mailbridge/mail-testkit';
import { createTestApp, TestApp } from '../support/nocobase';
import { stallAfter, startTcpRelay } from '../support/net';

// Issue #9, network stalls: a server that accepts and never answers, and a connection that stops forwarding in the
// middle of a FETCH answer. The sync must end with an error within the configured timeouts (the account's
// imap.timeouts, or the watchdog's MAILBRIDGE_STALL_TIMEOUT_MS) instead of hanging, and give its lease back.
// The bound is each test's own jest timeout, far below the defaults (120 s socket, 180 s watchdog).
// above the time a 100-mail batch takes to store on a loaded machine: the watchdog's clock runs during the store too
const STALL_MS = 8000;
process.env.MAILBRIDGE_STALL_TIMEOUT_MS = String(STALL_MS);
const MAILS = 600;
const alice = { user: 'stall@example.test', password: 'pw-stall-1' };

/** Accepts connections and never sends a byte. */
async function startBlackhole() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A relay to `port` that stops passing the server's bytes on after `limit` of them, leaving both sockets open. */
async function startStallingRelay(port: number, limit: number) {
  let stalled = 0;
  let stalledAt = 0;
  const relay = await startTcpRelay(port, () =>
    stallAfter(limit, () => {
      stalled++;
      stalledAt = Date.now();
    }),
  );
  return { ...relay, stalled: () => stalled, stalledAt: () => stalledAt };
}

describe('faults: a stalled network ends the sync with an error instead of hanging', () => {
  let t: TestApp;
  let dovecot: Dovecot;
  let admin: string;
  let mail: any;

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    dovecot = await startDovecot({ users: [alice] });
    await seedMaildir(dovecot, alice.user, 'INBOX', Array.from({ length: MAILS }, (_, i) => makeMessage(i, { to: alice.user })));
    t = await createTestApp();
    admin = await t.signIn();
    mail = (t.app.pm.get('@mailbridge/plugin-mail') as any).mail;
    expect(mail.options.stallTimeoutMs).toBe(STALL_MS);
  }, 120_000);

  afterAll(async () => {
    await t?.destroy();
    await dovecot?.destroy();
    delete process.env.MAILBRIDGE_STALL_TIMEOUT_MS;
  });

  const createAccount = async (imap: Record<string, unknown>) => {
    const res = await t.agent(admin).post('mailAccounts:create', {
      title: 'stall',
      provider: 'smtp-imap',
      address: alice.user,
      settings: {
        smtp: { host: '127.0.0.1', port: 1, security: 'none' },
        imap: { host: '127.0.0.1', security: 'none', ...imap },
        sync: { intervalSeconds: 3600, batchSize: 100 },
      },
      secrets: { password: alice.password },
    });
    expect(res.status).toBe(200);
    return String(res.body.data.id);
  };
  const account = async (id: string) => (await t.db.getRepository('mailAccounts').findOne({ filterByTk: id })).toJSON();
  const stored = (accountId: string) => t.db.getModel('mailMessages').count({ where: { accountId } });

  /** The sync ended with `code`, the account shows the error and the lease is free for the next sync. */
  const expectEndedWith = async (id: string, outcome: any, code: string) => {
    expect(outcome.ok).toBe(false);
    expect(outcome.error.code).toBe(code);
    const a = await account(id);
    expect(a).toMatchObject({ status: 'error', syncLeaseUntil: null, syncProgress: null });
    expect(a.lastError).toBeTruthy();
    const row = await t.db.getModel('mailAccounts').findOne({ where: { id } });
    expect(row.get('syncLeaseOwner')).toBeNull();
  };

  it('a plain-text port that accepts and never greets: ends after the greeting timeout (reported as a TLS mismatch)', async () => {
    const hole = await startBlackhole();
    try {
      const id = await createAccount({ port: hole.port, timeouts: { connectMs: 1000, greetingMs: 1500, socketMs: 2000 } });
      const started = Date.now();
      const outcome = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: id });
      console.log(`[faults] silent plain port: sync ended after ${Date.now() - started} ms with ${outcome.body.data.error?.code}`);
      // mail-core's reading of silence on a plain port: most likely a TLS port (993) set up as "none"
      await expectEndedWith(id, outcome.body.data, 'TLS_MISMATCH');
      expect(outcome.body.data.error.hint).toMatch(/no greeting/);
    } finally {
      await hole.close();
    }
  }, 30_000);

  it('a TLS port whose handshake never completes: TIMEOUT after the connect timeout', async () => {
    const hole = await startBlackhole();
    try {
      const id = await createAccount({ port: hole.port, security: 'ssl', timeouts: { connectMs: 1500, greetingMs: 1500, socketMs: 2000 } });
      const started = Date.now();
      const outcome = await mail.sync.syncAccount(id);
      console.log(`[faults] silent TLS port: sync ended after ${Date.now() - started} ms with ${outcome.error?.code}`);
      await expectEndedWith(id, outcome, 'TIMEOUT');
    } finally {
      await hole.close();
    }
  }, 30_000);

  it('the connection stops in the middle of a FETCH answer: the socket timeout ends the sync, stored batches stay', async () => {
    // stalls in the first FETCH answer, before any batch is stored (the socket timeout also ends an idle gap)
    const relay = await startStallingRelay(dovecot.imapPort, 30_000);
    try {
      const id = await createAccount({ port: relay.port, timeouts: { connectMs: 2000, greetingMs: 2000, socketMs: 2000 } });
      const started = Date.now();
      const outcome = await mail.sync.syncAccount(id);
      console.log(`[faults] stall in the first FETCH, socketMs 2000: sync ended after ${Date.now() - started} ms with ${outcome.error?.code}: ${outcome.error?.message}`);
      expect(relay.stalled()).toBe(1);
      await expectEndedWith(id, outcome, 'TIMEOUT');
      expect(outcome.error.message).toMatch(/Socket timeout/i);
      expect(await stored(id)).toBe(0);
      // the next sync over a working connection completes the folder, nothing twice
      await t.agent(admin).post('mailAccounts:update', { settings: { ...(await account(id)).settings, imap: { host: '127.0.0.1', port: dovecot.imapPort, security: 'none' } } }, { filterByTk: id });
      const next = await mail.sync.syncAccount(id);
      expect(next).toMatchObject({ ok: true });
      expect(await stored(id)).toBe(MAILS);
      expect((await account(id)).status).toBe('ok');
    } finally {
      await relay.close();
    }
  }, 60_000);

  it('the same stall with a long socket timeout: the watchdog (MAILBRIDGE_STALL_TIMEOUT_MS) ends it and frees the lease', async () => {
    // the 600 mails are about 310 KB of source: this stalls in the FETCH of the second batch
    const relay = await startStallingRelay(dovecot.imapPort, 200_000);
    try {
      const id = await createAccount({ port: relay.port, timeouts: { connectMs: 2000, greetingMs: 2000, socketMs: 600_000 } });
      const started = Date.now();
      const outcome = await mail.sync.syncAccount(id);
      console.log(`[faults] stall mid-FETCH, socketMs 600000: sync ended after ${Date.now() - started} ms (${Date.now() - relay.stalledAt()} ms after the stall) with ${outcome.error?.code}: ${outcome.error?.message}`);
      expect(relay.stalled()).toBe(1);
      await expectEndedWith(id, outcome, 'TIMEOUT');
      expect(outcome.error.message).toMatch(/no progress for 8 s/);
      // the stalled connection is not left behind
      const deadline = Date.now() + 10_000;
      while (relay.open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(relay.open()).toBe(0);
      // and nothing holds the account: the next sync starts at once
      await t.agent(admin).post('mailAccounts:update', { settings: { ...(await account(id)).settings, imap: { host: '127.0.0.1', port: dovecot.imapPort, security: 'none' } } }, { filterByTk: id });
      const next = await mail.sync.syncAccount(id);
      expect(next).toMatchObject({ ok: true });
      expect(await stored(id)).toBe(MAILS);
    } finally {
      await relay.close();
    }
  }, 60_000);
});
