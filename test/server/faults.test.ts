import { makeMessage, seedMaildir, startSmtpSink, SmtpSink } from '@mailbridge/mail-testkit';
import { createTestApp, TestApp } from '../support/nocobase';
import { startMailPeers, MailPeers } from '../support/mailPeers';
import { startTcpRelay, until } from '../support/net';
import { FIRST_BATCH_SIZE } from '../../src/server/sync/accountSync';

// Issue #9, faults: dovecot killed at several points of a 2,000-mail sync, the SMTP sink killed during an outbox
// drain, and what a dead node leaves behind (a sync lease, an entry in "sending"). Real dovecot, real SMTP
// server, NocoBase in-process; every wait is a bounded loop on 127.0.0.1.
const MAILS = 2000;
const BATCH = 250;
/** What one stored batch leaves, and one more read ahead: a folder's first batch is smaller than the rest. */
const AFTER_FIRST_BATCH = [FIRST_BATCH_SIZE, FIRST_BATCH_SIZE + BATCH];
const users = {
  afterBatch: { user: 'after-batch@example.test', password: 'pw-after-batch-1' },
  midFetch: { user: 'mid-fetch@example.test', password: 'pw-mid-fetch-2' },
  inSent: { user: 'in-sent@example.test', password: 'pw-in-sent-3' },
  down: { user: 'down@example.test', password: 'pw-down-4' },
  lease: { user: 'lease@example.test', password: 'pw-lease-5' },
  sender: { user: 'sender@example.test', password: 'pw-sender-6' },
  health: { user: 'health@example.test', password: 'pw-health-8' },
};

describe('faults: dovecot, the SMTP sink and a node dying in the middle of the work', () => {
  let t: TestApp;
  let peers: MailPeers;
  let admin: string;
  let mail: any;

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    peers = await startMailPeers(Object.values(users));
    for (const u of [users.afterBatch, users.midFetch, users.inSent]) {
      await seedMaildir(peers.dovecot, u.user, 'INBOX', Array.from({ length: MAILS }, (_, i) => makeMessage(i, { to: u.user, messageId: `f-${i}-${u.user}` })));
    }
    await seedMaildir(peers.dovecot, users.lease.user, 'INBOX', Array.from({ length: 300 }, (_, i) => makeMessage(i, { to: users.lease.user })));
    await seedMaildir(peers.dovecot, users.inSent.user, 'Sent', Array.from({ length: 600 }, (_, i) => makeMessage(10_000 + i, { from: users.inSent.user, messageId: `s-${i}@x` })));
    t = await createTestApp();
    admin = await t.signIn();
    mail = (t.app.pm.get('@mailbridge/plugin-mail') as any).mail;
  }, 180_000);

  afterAll(async () => {
    await t?.destroy();
    await peers?.stop();
  });

  const createAccount = async (u: { user: string; password: string }, imapPort = peers.dovecot.imapPort, extra: Record<string, any> = {}) => {
    const res = await t.agent(admin).post('mailAccounts:create', {
      title: u.user,
      provider: 'smtp-imap',
      address: u.user,
      settings: {
        smtp: { host: '127.0.0.1', port: peers.sink.port, security: 'none' },
        imap: { host: '127.0.0.1', port: imapPort, security: 'none' },
        sync: { intervalSeconds: 3600, batchSize: BATCH },
        ...extra,
      },
      secrets: { password: u.password },
    });
    expect(res.status).toBe(200);
    return String(res.body.data.id);
  };
  const account = async (id: string) => (await t.db.getRepository('mailAccounts').findOne({ filterByTk: id })).toJSON();
  const rows = (accountId: string, folder = 'INBOX') =>
    t.db.getModel('mailMessages').findAll({ where: { accountId, folder }, attributes: ['providerId', 'messageId'], raw: true });
  const cursorOf = async (accountId: string, folder = 'INBOX') =>
    (await t.db.getModel('mailSyncState').findOne({ where: { accountId, folder } }))?.get('cursor');

  /** Stored rows are unique and exactly UIDs 1..n, and the cursor covers exactly them. */
  const expectConsistent = async (accountId: string, n: number, folder = 'INBOX') => {
    const stored = await rows(accountId, folder);
    expect(stored).toHaveLength(n);
    expect(new Set(stored.map((r: any) => r.messageId)).size).toBe(n);
    const uids = stored.map((r: any) => Number(r.providerId)).sort((a: number, b: number) => a - b);
    expect(uids).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const cursor = await cursorOf(accountId, folder);
    if (n === 0) return;
    expect(cursor).toMatchObject({ uidNext: n + 1, uids: n === 1 ? '1' : `1:${n}` });
  };

  /** Kills dovecot when `when` says so; resolves once it is down. */
  const killWhen = (when: (e: any) => boolean) => {
    let killed: Promise<void> | undefined;
    const off = mail.events.onMessagesStored(async (e: any) => {
      if (!killed && when(e)) {
        killed = peers.dovecot.kill();
        await killed;
      }
    });
    return { off, killed: () => killed };
  };

  it('dovecot killed after the first stored batch: the batch stays, the account shows the error, the next sync completes', async () => {
    const id = await createAccount(users.afterBatch);
    const hook = killWhen((e) => e.accountId === id);
    const failed = await mail.sync.syncAccount(id);
    hook.off();
    expect(hook.killed()).toBeDefined();
    expect(failed.ok).toBe(false);
    expect(['CONNECTION_LOST', 'HOST_UNREACHABLE']).toContain(failed.error.code);
    const broken = await account(id);
    expect(broken).toMatchObject({ status: 'error', consecutiveFailures: 1, syncProgress: null });
    expect(broken.lastError).toBeTruthy();
    expect(broken.syncLeaseUntil).toBeNull();
    // the engine reads one batch ahead, so the batch in flight when dovecot died may be stored too
    const kept = await t.db.getModel('mailMessages').count({ where: { accountId: id, folder: 'INBOX' } });
    expect(AFTER_FIRST_BATCH).toContain(kept);
    await expectConsistent(id, kept);

    await peers.dovecot.start();
    const ok = await mail.sync.syncAccount(id);
    expect(ok).toMatchObject({ ok: true });
    expect(ok.folders.find((f: any) => f.folder === 'INBOX').added).toBe(MAILS - kept);
    await expectConsistent(id, MAILS);
    expect(await account(id)).toMatchObject({ status: 'ok', consecutiveFailures: 0, lastError: null });
    expect(await cursorOf(id)).toMatchObject({ messages: MAILS });
  });

  it('dovecot killed in the middle of a FETCH answer: no mail lost or doubled when the sync runs again', async () => {
    let armed = true;
    let killed: Promise<void> | undefined;
    // about 1.5 batches into the mailbox: far enough that one batch is stored and the next FETCH is streaming
    let total = 0;
    const relay = await startTcpRelay(peers.dovecot.imapPort, () => ({
      fromServer: (chunk) => {
        total += chunk.length;
        if (armed && total > 600_000) {
          armed = false;
          killed = peers.dovecot.kill();
        }
        return chunk;
      },
    }));
    try {
      const id = await createAccount(users.midFetch, relay.port);
      const failed = await mail.sync.syncAccount(id);
      expect(killed).toBeDefined();
      await killed;
      expect(failed.ok).toBe(false);
      expect(['CONNECTION_LOST', 'HOST_UNREACHABLE', 'TIMEOUT']).toContain(failed.error.code);
      const partial = (await rows(id)).length;
      expect((partial - FIRST_BATCH_SIZE) % BATCH).toBe(0); // whole batches only
      expect(partial).toBeGreaterThan(0);
      expect(partial).toBeLessThan(MAILS);
      await expectConsistent(id, partial);
      expect(await account(id)).toMatchObject({ status: 'error', consecutiveFailures: 1, syncLeaseUntil: null });

      await peers.dovecot.start();
      // the whole outcome, so that a failure shows its error and not just "ok: false"
      const again = await mail.sync.syncAccount(id);
      expect({ ok: again.ok, error: again.error ?? null, skipped: again.skipped ?? null }).toEqual({ ok: true, error: null, skipped: null });
      await expectConsistent(id, MAILS);
      expect(await account(id)).toMatchObject({ status: 'ok', consecutiveFailures: 0 });
    } finally {
      await relay.close();
    }
  });

  it('dovecot killed while the Sent folder syncs: INBOX stays complete, Sent resumes where it stopped', async () => {
    const id = await createAccount(users.inSent);
    const hook = killWhen((e) => e.accountId === id && e.folder === 'Sent');
    const failed = await mail.sync.syncAccount(id);
    hook.off();
    expect(failed.ok).toBe(false);
    await expectConsistent(id, MAILS, 'INBOX');
    expect(await cursorOf(id, 'INBOX')).toMatchObject({ messages: MAILS });
    // one batch stored before the kill, and maybe the one read ahead
    const kept = await t.db.getModel('mailMessages').count({ where: { accountId: id, folder: 'Sent' } });
    expect(AFTER_FIRST_BATCH).toContain(kept);
    await expectConsistent(id, kept, 'Sent');
    expect((await account(id)).status).toBe('error');

    await peers.dovecot.start();
    const ok = await mail.sync.syncAccount(id);
    expect(ok.ok).toBe(true);
    expect(ok.folders).toEqual([
      { folder: 'INBOX', added: 0, changed: 0, deleted: 0 },
      { folder: 'Sent', added: 600 - kept, changed: 0, deleted: 0 },
    ]);
    await expectConsistent(id, MAILS, 'INBOX');
    await expectConsistent(id, 600, 'Sent');
    expect((await account(id)).status).toBe('ok');
  });

  it('dovecot down before the sync starts: HOST_UNREACHABLE with a hint, then ok once it is back', async () => {
    await seedMaildir(peers.dovecot, users.down.user, 'INBOX', Array.from({ length: 20 }, (_, i) => makeMessage(i, { to: users.down.user })));
    const id = await createAccount(users.down);
    await peers.dovecot.kill();
    const failed = await mail.sync.syncAccount(id);
    expect(failed).toMatchObject({ ok: false, error: { code: 'HOST_UNREACHABLE' } });
    expect(failed.error.hint).toBeTruthy();
    expect(await account(id)).toMatchObject({ status: 'error', syncLeaseUntil: null });
    await peers.dovecot.start();
    expect((await mail.sync.syncAccount(id)).ok).toBe(true);
    await expectConsistent(id, 20);
  });

  it('SMTP sink killed during a drain of 50 mails: nothing lost, nothing sent twice, the failed ones retried', async () => {
    let sink: SmtpSink = await startSmtpSink({ users: [users.sender] });
    const port = sink.port;
    const sinks: SmtpSink[] = [sink];
    const res = await t.agent(admin).post('mailAccounts:create', {
      title: 'sender',
      provider: 'smtp',
      address: users.sender.user,
      settings: { smtp: { host: '127.0.0.1', port, security: 'none' } },
      secrets: { password: users.sender.password },
    });
    const id = String(res.body.data.id);
    for (let i = 0; i < 50; i++) {
      await mail.outbox.enqueue({
        accountId: id,
        message: { from: { address: users.sender.user }, to: [{ address: `rcpt${i}@example.test` }], subject: `Outbox ${i}`, text: `mail ${i}` },
      });
    }
    // the sink goes down once it has accepted 20 mails; the ones in flight then fail (or are still accepted while
    // it closes): every mail it accepted must be marked sent, every other one queued for a retry
    let killed: Promise<void> | undefined;
    const firstSink = sink;
    void firstSink.waitFor(20, 60_000).then(() => (killed = firstSink.close()), () => undefined);
    await mail.outbox.drain();
    await killed;
    const accepted = firstSink.received.length;
    expect(accepted).toBeGreaterThanOrEqual(20);
    expect(accepted).toBeLessThan(50);
    const Outbox = t.db.getModel('mailOutbox');
    const entries = async () => (await Outbox.findAll({ where: { accountId: id }, raw: true })) as any[];
    let all = await entries();
    expect(all.filter((e) => e.state === 'sent')).toHaveLength(accepted);
    const waiting = all.filter((e) => e.state !== 'sent');
    expect(waiting).toHaveLength(50 - accepted);
    for (const e of waiting) {
      // retryable and waiting for its next attempt, never half-done
      expect(e).toMatchObject({ state: 'queued', attempts: 1, leaseUntil: null });
      expect(['HOST_UNREACHABLE', 'CONNECTION_LOST']).toContain(e.errorCode);
      expect(new Date(e.nextAttemptAt).getTime()).toBeGreaterThan(Date.now());
    }

    sink = await startSmtpSink({ port, users: [users.sender] });
    sinks.push(sink);
    await Outbox.update({ nextAttemptAt: new Date() }, { where: { accountId: id, state: 'queued' } });
    await mail.outbox.drain();
    all = await entries();
    expect(all.map((e) => e.state)).toEqual(Array(50).fill('sent'));

    const received = sinks.flatMap((s) => s.received).map((m) => /^Message-ID:\s*(<[^>]+>)/im.exec(m.raw.toString())?.[1]);
    const byId = new Map<string, number>();
    for (const mid of received) byId.set(mid!, (byId.get(mid!) ?? 0) + 1);
    expect(byId.size).toBe(50);
    expect([...byId.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(all.map((e) => e.messageId))).toEqual(new Set(byId.keys()));
    expect(all.filter((e) => e.attempts === 2)).toHaveLength(50 - accepted);
    await sink.close();
  });

  it('a send-only account shows a wrong password as its error, and its health again once sends succeed (one write per drain)', async () => {
    const sink = await startSmtpSink({ users: [users.health] });
    const res = await t.agent(admin).post('mailAccounts:create', {
      title: 'health',
      provider: 'smtp',
      address: users.health.user,
      settings: { smtp: { host: '127.0.0.1', port: sink.port, security: 'none' } },
      secrets: { password: 'not-the-password' },
    });
    const id = String(res.body.data.id);
    const enqueue = (n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          mail.outbox.enqueue({ accountId: id, message: { from: { address: users.health.user }, to: [{ address: `h${i}@example.test` }], subject: `Health ${i}`, text: 'x' } }),
        ),
      );
    try {
      await enqueue(2);
      await mail.outbox.drain();
      expect(await account(id)).toMatchObject({ status: 'error', lastErrorCode: 'AUTH_FAILED' });
      expect((await account(id)).lastError).toMatch(/password|authenticat/i);

      const updated = await t.agent(admin).post('mailAccounts:update', { secrets: { password: users.health.password } }, { filterByTk: id });
      expect(updated.status).toBe(200);
      const accountWrites: string[] = [];
      const count = (_options: any, query: any) => {
        if (/^UPDATE\s+\S*mail_?accounts/i.test(query.sql ?? '')) accountWrites.push(query.sql);
      };
      t.db.sequelize.addHook('afterQuery', 'count-account-writes', count);
      try {
        await enqueue(45); // three chunks of the drain
        await mail.outbox.drain();
      } finally {
        t.db.sequelize.removeHook('afterQuery', 'count-account-writes');
      }
      expect(sink.received).toHaveLength(45);
      expect(await account(id)).toMatchObject({ status: 'ok', lastError: null, lastErrorCode: null, consecutiveFailures: 0 });
      expect((await account(id)).lastSuccessAt).toBeTruthy();
      expect(accountWrites).toHaveLength(1);
    } finally {
      await sink.close();
    }
  });

  it('a sync lease left by a dead node blocks until it expires, then another sync takes over', async () => {
    const id = await createAccount(users.lease);
    const Accounts = t.db.getModel('mailAccounts');
    const expiresAt = new Date(Date.now() + 1500);
    await Accounts.update({ syncLeaseOwner: 'node-that-died', syncLeaseUntil: expiresAt }, { where: { id }, hooks: false });
    expect(await mail.sync.syncAccount(id)).toMatchObject({ ok: false, skipped: 'busy' });
    expect(await t.db.getModel('mailMessages').count({ where: { accountId: id } })).toBe(0);
    await until_(() => Date.now() > expiresAt.getTime() + 50);
    const ok = await mail.sync.syncAccount(id);
    expect(ok.ok).toBe(true);
    await expectConsistent(id, 300);
    const after = await Accounts.findOne({ where: { id } });
    expect(after.get('syncLeaseOwner')).toBeNull();
    expect(after.get('syncLeaseUntil')).toBeNull();
  });

  it('an entry a dead node left in "sending" becomes INTERRUPTED after its lease and is never resent by itself', async () => {
    const sink = await startSmtpSink({ users: [users.sender] });
    try {
      const res = await t.agent(admin).post('mailAccounts:create', {
        title: 'sender 2',
        provider: 'smtp',
        address: users.sender.user,
        settings: { smtp: { host: '127.0.0.1', port: sink.port, security: 'none' } },
        secrets: { password: users.sender.password },
      });
      const accountId = String(res.body.data.id);
      const entry = await mail.outbox.enqueue({
        accountId,
        message: { from: { address: users.sender.user }, to: [{ address: 'x@example.test' }], subject: 'left in sending', text: 'x' },
      });
      const id = String(entry.get('id'));
      const Outbox = t.db.getModel('mailOutbox');
      // what a node leaves that claimed the entry and died before the provider answered
      const leaseUntil = new Date(Date.now() + 1000);
      await Outbox.update({ state: 'sending', attempts: 1, leaseUntil }, { where: { id } });
      await mail.outbox.drain();
      expect((await Outbox.findByPk(id)).get('state')).toBe('sending');
      await until_(() => Date.now() > leaseUntil.getTime() + 50);
      await mail.outbox.drain();
      const interrupted = await Outbox.findByPk(id);
      expect(interrupted.get('state')).toBe('failed');
      expect(interrupted.get('errorCode')).toBe('INTERRUPTED');
      await mail.outbox.drain();
      expect(sink.received).toHaveLength(0);
      expect((await Outbox.findByPk(id)).get('state')).toBe('failed');

      // a person retries it: it goes out once, with the Message-ID it was queued with
      const retried = await t.agent(admin).post('mailOutbox:retry', {}, { filterByTk: id });
      expect(retried.body.data.state).toBe('sent');
      expect(sink.received).toHaveLength(1);
      expect(sink.received[0].raw.toString()).toContain(entry.get('messageId'));
    } finally {
      await sink.close();
    }
  });
});

function until_(probe: () => boolean) {
  return until(() => probe() || null, 10_000, 'the lease to run out', 100);
}
