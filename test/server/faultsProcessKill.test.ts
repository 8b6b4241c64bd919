import fs from 'fs';
import os from 'os';
import path from 'path';
import net from 'net';
import type { ChildProcess } from 'child_process';
import { SMTPServer } from 'smtp-server';
import { makeMessage, seedMaildir, startDovecot, Dovecot } from '@mailbridge/mail-testkit';
import { freePort, stallAfter, startTcpRelay, until } from '../support/net';
import { stopProcess } from '../support/process';
import { FIRST_BATCH_SIZE } from '../../src/server/sync/accountSync';

// Issue #9: the real NocoBase app (scripts/host, our built plugin from dist/) SIGKILLed while a mail is being
// sent and while an account is being synced, then started again on the same storage. The mail in "sending"
// becomes INTERRUPTED once its lease is over and is never sent again by itself; the dead process's sync lease
// runs out and the restarted app finishes the sync, every mail exactly once. Needs `npm run build` first
// (npm test builds).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const host = require('../../scripts/host/app');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { linkPlugin } = require('../../scripts/host/linkPlugin');

const ROOT = path.resolve(__dirname, '..', '..');
const MAILS = 1000;
const alice = { user: 'alice@example.test', password: 'pw-alice-kill-1' };

/** An SMTP server that takes the whole mail and then never answers the final dot. */
async function startHangingSmtp() {
  const data: string[] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    closeTimeout: 300,
    onAuth: (_auth, _session, cb) => cb(null, { user: 'x' }),
    onData(stream) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => data.push(Buffer.concat(chunks).toString()));
      // no callback: the client waits for an answer that never comes
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.server.address() as net.AddressInfo).port,
    data,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Relays to `port`; the first connection stops passing the server's bytes on after `limit` of them. */
async function startRelay(port: number, limit: number) {
  let stalled = false;
  const relay = await startTcpRelay(port, (index) => (index === 0 ? stallAfter(limit, () => (stalled = true), { exact: false }) : {}));
  return { ...relay, stalled: () => stalled, connections: relay.sessions };
}

/** Read-only SQL on the app's SQLite file (while the app is down). */
async function query(dbFile: string, sql: string, params: unknown[] = []): Promise<any[]> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const sqlite3 = require('sqlite3');
  const db = new sqlite3.Database(dbFile, sqlite3.OPEN_READONLY);
  try {
    return await new Promise((resolve, reject) => db.all(sql, params, (err: Error, rows: any[]) => (err ? reject(err) : resolve(rows))));
  } finally {
    db.close();
  }
}

// The app here always runs on SQLite (npm test leaves this file out of the PostgreSQL pass, where the cluster
// suite kills nodes instead).
describe('faults: the NocoBase process killed mid-send and mid-sync (real app, SQLite)', () => {
  let dovecot: Dovecot;
  let smtp: Awaited<ReturnType<typeof startHangingSmtp>>;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let storage: string;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let server: ChildProcess | undefined;

  const start = async () => {
    server = host.startServer({ ...env }, { quiet: true });
    await host.waitForApp(url, server, 180_000);
  };
  const stop = (signal: NodeJS.Signals) => stopProcess(server, signal);
  const api = async (token: string | undefined, action: string, body?: unknown, params: Record<string, string> = {}) => {
    const qs = new URLSearchParams(params).toString();
    const res = await fetch(`${url}/api/${action}${qs ? '?' + qs : ''}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Authenticator': 'basic', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
  const signIn = async () => (await api(undefined, 'auth:signIn', { account: 'admin@nocobase.com', password: 'admin123' })).body.data.token as string;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'server', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    dovecot = await startDovecot({ users: [alice] });
    await seedMaildir(dovecot, alice.user, 'INBOX', Array.from({ length: MAILS }, (_, i) => makeMessage(i, { to: alice.user })));
    smtp = await startHangingSmtp();
    // the first session stalls in the middle of the mailbox (one batch stored, the next FETCH cut off)
    relay = await startRelay(dovecot.imapPort, 350_000);
    linkPlugin(ROOT);
    storage = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbridge-kill-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = {
      ...host.hostEnv({ storage, port }),
      DB_DIALECT: 'sqlite',
      DB_STORAGE: path.join(storage, 'db', 'nocobase.sqlite'),
      MAILBRIDGE_SYNC_TICK_MS: '500',
      MAILBRIDGE_SYNC_LEASE_MS: '4000',
      MAILBRIDGE_SEND_LEASE_MS: '4000',
    };
    await host.prepareApp(env, () => undefined);
    await start();
  }, 300_000);

  afterAll(async () => {
    await stop('SIGTERM');
    await relay?.close();
    await smtp?.close();
    await dovecot?.destroy();
    if (storage) fs.rmSync(storage, { recursive: true, force: true });
  });

  it('SIGKILL while a mail hangs in DATA and a sync hangs in FETCH; after the restart: INTERRUPTED, not resent, sync completed once', async () => {
    let token = await signIn();
    const created = await api(token, 'mailAccounts:create', {
      title: 'Alice',
      provider: 'smtp-imap',
      address: alice.user,
      settings: {
        smtp: { host: '127.0.0.1', port: smtp.port, security: 'none' },
        imap: { host: '127.0.0.1', port: relay.port, security: 'none' },
        sync: { intervalSeconds: 3600, batchSize: 250 },
        appendSent: false,
      },
      secrets: { password: alice.password },
    });
    expect(created.status).toBe(200);
    const accountId = String(created.body.data.id);
    // the scheduler picks the new account up at once and stalls in the relay
    await until(async () => relay.stalled(), 60_000, 'the sync to stall mid-FETCH');
    const sent = await api(token, 'mailMessages:send', { accountId, to: ['bob@example.test'], subject: 'Killed while sending', text: 'x', wait: false });
    expect(sent.status).toBe(200);
    const messageId = sent.body.data.messageId;
    await until(async () => smtp.data.length === 1, 60_000, 'the mail to reach DATA');
    const synced = await until(async () => (await api(token, 'mailMessages:list', undefined, { accountId, pageSize: '1' })).body?.meta?.count, 90_000, 'the first batch').catch(async (err) => {
      // what the next person needs to see when this fails: the account's state and what the database holds
      const [account] = await query(env.DB_STORAGE as string, 'SELECT status, lastError, syncProgress FROM mailAccounts WHERE id = ?', [accountId]);
      const [stored] = await query(env.DB_STORAGE as string, 'SELECT count(*) AS n FROM mailMessages');
      throw new Error(`${err.message}; account ${JSON.stringify(account)}, ${stored.n} stored, ${relay.connections()} IMAP connections`);
    });

    await stop('SIGKILL');
    const dbFile = env.DB_STORAGE as string;
    const [entry] = await query(dbFile, 'SELECT state, leaseUntil FROM mailOutbox WHERE messageId = ?', [messageId]);
    expect(entry.state).toBe('sending');
    const [lease] = await query(dbFile, 'SELECT syncLeaseOwner, syncLeaseUntil FROM mailAccounts WHERE id = ?', [accountId]);
    expect(lease.syncLeaseOwner).toBeTruthy();
    const deadOwner = lease.syncLeaseOwner;
    const before = (await query(dbFile, 'SELECT COUNT(*) AS n FROM mailMessages WHERE accountId = ?', [accountId]))[0].n;
    expect(before).toBe(synced);
    expect((before - FIRST_BATCH_SIZE) % 250).toBe(0); // a first batch of 100, then whole batches
    expect(before).toBeLessThan(MAILS);
    console.log(`[faults] killed the app with ${before} of ${MAILS} mails stored, one mail in "sending", lease held by ${deadOwner}`);

    await start();
    token = await signIn();
    const outbox = await until(
      async () => {
        const list = await api(token, 'mailOutbox:list', undefined, { filter: JSON.stringify({ messageId }) });
        const row = list.body?.data?.[0];
        return row?.state === 'failed' ? row : null;
      },
      60_000,
      'the mail to be marked INTERRUPTED',
    );
    expect(outbox.errorCode).toBe('INTERRUPTED');
    const account = await until(
      async () => {
        const a = (await api(token, 'mailAccounts:get', undefined, { filterByTk: accountId })).body?.data;
        return a?.status === 'ok' && a.lastSuccessAt ? a : null;
      },
      // generous: under CI load the restarted app needs its boot, the lease expiry and a 1,000-mail sync
      300_000,
      'the restarted app to finish the sync',
    );
    expect(account.syncProgress).toBeNull();
    // a few scheduler ticks later the mail is still not sent again
    await new Promise((r) => setTimeout(r, 2000));
    expect(smtp.data).toHaveLength(1);

    await stop('SIGTERM');
    const rows = await query(dbFile, 'SELECT providerId, messageId FROM mailMessages WHERE accountId = ? AND folder = ?', [accountId, 'INBOX']);
    expect(rows).toHaveLength(MAILS);
    expect(new Set(rows.map((r) => r.messageId)).size).toBe(MAILS);
    const [state] = await query(dbFile, 'SELECT cursor FROM mailSyncState WHERE accountId = ? AND folder = ?', [accountId, 'INBOX']);
    expect(JSON.parse(state.cursor)).toMatchObject({ uidNext: MAILS + 1, uids: `1:${MAILS}`, messages: MAILS });
    const [final] = await query(dbFile, 'SELECT state FROM mailOutbox WHERE messageId = ?', [messageId]);
    expect(final.state).toBe('failed');
    expect(relay.connections()).toBeGreaterThan(1);
  }, 600_000);
});
