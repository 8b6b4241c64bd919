import fs from 'fs';
import os from 'os';
import path from 'path';
import crypto from 'crypto';
import type { ChildProcess } from 'child_process';
import { makeMessage, seedMaildir, startDovecot, startSmtpSink, Dovecot, SmtpSink } from '@mailbridge/mail-testkit';
import { freePort, stallAfter, startTcpRelay, until } from '../support/net';
import { stopProcess } from '../support/process';

// Issue #9, more than one node: two real NocoBase processes (scripts/host, our plugin from dist/) on the same
// throwaway PostgreSQL, both running the sync scheduler and the outbox on a 500 ms tick with a 3 s sync lease.
// Proven here: an account is synced by one node at a time (one IMAP session busy at a time, seen by a relay in
// front of dovecot per account; lease owners from both nodes recorded), every mail is stored once, the outbox
// is drained once, and a node SIGKILLed in the middle of a sync is taken over by the other after its lease.
// PostgreSQL only; skipped with a message when its binaries are missing. Needs `npm run build` (npm test builds).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { startPostgres } = require('../../scripts/testing/postgres');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const host = require('../../scripts/host/app');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { linkPlugin } = require('../../scripts/host/linkPlugin');

const ROOT = path.resolve(__dirname, '..', '..');
const PG_BIN = ['17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin/initdb`);
const hasPostgres = Boolean(process.env.PG_BIN ? fs.existsSync(path.join(process.env.PG_BIN, 'initdb')) : PG_BIN.some((f) => fs.existsSync(f)));
if (!hasPostgres) {
  // eslint-disable-next-line no-console
  console.warn('[cluster] SKIPPED: no PostgreSQL binaries (initdb) found; install postgresql (CI does) to run the two-node tests');
}
const describeCluster = hasPostgres ? describe : describe.skip;

const SYNC_ACCOUNTS = ['c1@example.test', 'c2@example.test', 'c3@example.test'].map((user, i) => ({ user, password: `cluster-pw-${i}` }));
const TAKEOVER = { user: 'takeover@example.test', password: 'cluster-pw-takeover' };
const SENDER = { user: 'sender@example.test', password: 'cluster-pw-sender' };
const INITIAL = 400;
const ROUNDS = 3;
const PER_ROUND = 40;

/** Calls `onLine` for every CRLF-terminated line of a byte stream, across chunk boundaries. */
function lineReader(onLine: (line: string) => void) {
  let rest = '';
  return (chunk: Buffer) => {
    const lines = (rest + chunk.toString('latin1')).split('\r\n');
    rest = lines.pop()!.slice(-4096);
    for (const line of lines) onLine(line);
  };
}

/**
 * A relay in front of dovecot for one account. It counts TCP sessions and, from the IMAP tags on the wire, the
 * commands in flight: a session is busy from a tagged command to its tagged answer. A node keeps its connection
 * open between polls, so sessions may idle side by side; two sessions busy at once mean two nodes synced the
 * account at once. `polls` counts STATUS of INBOX, which every sync sends once.
 * `stallFirstAfter`: the first session stops receiving the server's bytes after that many of them.
 */
async function startSessionRelay(port: number, stallFirstAfter?: number) {
  const stats = { sessions: 0, polls: 0, busy: 0, maxBusy: 0, stalled: false };
  const setBusy = (busy: boolean) => {
    stats.busy += busy ? 1 : -1;
    stats.maxBusy = Math.max(stats.maxBusy, stats.busy);
  };
  const relay = await startTcpRelay(port, (index) => {
    stats.sessions++;
    const pending = new Set<string>();
    const fromClient = lineReader((line) => {
      const m = /^(\S+) (\S+)(?: (\S+))?/.exec(line);
      if (!m || m[1] === '+' || m[1] === '*') return;
      if (/^STATUS$/i.test(m[2]) && /^"?INBOX"?$/i.test(m[3] ?? '')) stats.polls++;
      if (!pending.size) setBusy(true);
      pending.add(m[1]);
    });
    const fromServer = lineReader((line) => {
      const tag = /^(\S+) (?:OK|NO|BAD)\b/i.exec(line)?.[1];
      if (tag && pending.delete(tag) && !pending.size) setBusy(false);
    });
    const stall = index === 0 && stallFirstAfter !== undefined ? stallAfter(stallFirstAfter, () => (stats.stalled = true), { exact: false }) : undefined;
    return {
      fromClient,
      fromServer: (chunk) => {
        const pass = stall ? stall.fromServer!(chunk) : chunk;
        if (pass) fromServer(pass);
        return pass;
      },
      onEnd: () => {
        if (pending.size) setBusy(false);
        pending.clear();
      },
    };
  });
  return { port: relay.port, stats, close: relay.close };
}

interface Node {
  name: string;
  url: string;
  storage: string;
  server: ChildProcess;
  token: string;
}

describeCluster('two NocoBase nodes on one PostgreSQL', () => {
  let pg: { env: Record<string, string>; stop(): void };
  let pgClient: any;
  let dovecot: Dovecot;
  let sink: SmtpSink;
  const relays = new Map<string, Awaited<ReturnType<typeof startSessionRelay>>>();
  const nodes: Node[] = [];
  const leaseOwners = new Map<string, Set<string>>();
  let leaseWatch: NodeJS.Timeout | undefined;
  const ids: Record<string, string> = {};
  const database = `mailbridge_cluster_${process.pid}`;

  const api = async (node: Node, action: string, body?: unknown, params: Record<string, string> = {}) => {
    const qs = new URLSearchParams(params).toString();
    const res = await fetch(`${node.url}/api/${action}${qs ? '?' + qs : ''}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Authenticator': 'basic', ...(node.token ? { Authorization: `Bearer ${node.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
  const sql = async (text: string, params: unknown[] = []) => (await pgClient.query(text, params)).rows as any[];

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'server', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    pg = await startPostgres();
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { Client } = require('pg');
    const admin = new Client({ host: pg.env.DB_HOST, port: Number(pg.env.DB_PORT), user: pg.env.DB_USER, database: 'postgres' });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
    pgClient = new Client({ host: pg.env.DB_HOST, port: Number(pg.env.DB_PORT), user: pg.env.DB_USER, database });
    await pgClient.connect();

    dovecot = await startDovecot({ users: [...SYNC_ACCOUNTS, TAKEOVER] });
    for (const u of SYNC_ACCOUNTS) {
      await seedMaildir(dovecot, u.user, 'INBOX', Array.from({ length: INITIAL }, (_, i) => makeMessage(i, { to: u.user, messageId: `init-${i}-${u.user}` })));
      relays.set(u.user, await startSessionRelay(dovecot.imapPort));
    }
    await seedMaildir(dovecot, TAKEOVER.user, 'INBOX', Array.from({ length: 1000 }, (_, i) => makeMessage(i, { to: TAKEOVER.user, messageId: `t-${i}@x` })));
    // the first session of the takeover account stalls after a few batches, holding its lease
    relays.set(TAKEOVER.user, await startSessionRelay(dovecot.imapPort, 300_000));
    sink = await startSmtpSink({ users: [SENDER] });

    linkPlugin(ROOT);
    const shared = {
      ...pg.env,
      DB_DATABASE: database,
      APP_KEY: crypto.randomBytes(32).toString('hex'),
      // one AES key for both nodes, or one could not decrypt the secrets the other stored
      APP_AES_SECRET_KEY: crypto.randomBytes(32).toString('hex'),
      MAILBRIDGE_SYNC_TICK_MS: '500',
      MAILBRIDGE_SYNC_LEASE_MS: '3000',
      MAILBRIDGE_SEND_LEASE_MS: '10000',
      LOGGER_LEVEL: 'warn',
    };
    const envs = [];
    for (const name of ['A', 'B']) {
      const storage = fs.mkdtempSync(path.join(os.tmpdir(), `mailbridge-cluster-${name}-`));
      const port = await freePort();
      const env = { ...host.hostEnv({ storage, port }), ...shared };
      delete env.DB_STORAGE;
      envs.push({ name, storage, port, env });
    }
    await host.runCommand(['install', '--lang=en-US'], envs[0].env, { quiet: true });
    await host.prepareApp(envs[0].env, () => undefined);
    for (const { name, storage, port, env } of envs) {
      const url = `http://127.0.0.1:${port}`;
      const server: ChildProcess = host.startServer(env, { quiet: true });
      const node: Node = { name, url, storage, server, token: '' };
      nodes.push(node);
      await host.waitForApp(url, server, 240_000);
      node.token = (await api(node, 'auth:signIn', { account: 'admin@nocobase.com', password: 'admin123' })).body.data.token;
    }

    // who holds each account's lease, sampled every 100 ms
    leaseWatch = setInterval(() => {
      sql('SELECT id, "syncLeaseOwner" FROM "mailAccounts" WHERE "syncLeaseOwner" IS NOT NULL')
        .then((rows) => {
          for (const r of rows) {
            const set = leaseOwners.get(String(r.id)) ?? new Set<string>();
            set.add(String(r.syncLeaseOwner).split('-')[0]);
            leaseOwners.set(String(r.id), set);
          }
        })
        .catch(() => undefined);
    }, 100);
  }, 600_000);

  afterAll(async () => {
    clearInterval(leaseWatch);
    for (const node of nodes) await stopProcess(node.server, 'SIGTERM');
    await pgClient?.end().catch(() => undefined);
    for (const relay of relays.values()) await relay.close();
    await sink?.close();
    await dovecot?.destroy();
    pg?.stop();
    for (const node of nodes) fs.rmSync(node.storage, { recursive: true, force: true });
  });

  const storedCount = async (accountId: string) =>
    Number((await sql('SELECT COUNT(*) AS n, COUNT(DISTINCT "messageId") AS d FROM "mailMessages" WHERE "accountId" = $1', [accountId]))[0].n);
  const expectStoredOnce = async (accountId: string, expected: number) => {
    const [row] = await sql('SELECT COUNT(*) AS n, COUNT(DISTINCT "messageId") AS d, COUNT(DISTINCT "providerId") AS p FROM "mailMessages" WHERE "accountId" = $1', [accountId]);
    expect({ accountId, n: Number(row.n), distinctMessageIds: Number(row.d), distinctUids: Number(row.p) }).toEqual({
      accountId,
      n: expected,
      distinctMessageIds: expected,
      distinctUids: expected,
    });
  };

  it('syncs each account on one node at a time, both nodes taking turns, every mail stored once', async () => {
    for (const [i, u] of SYNC_ACCOUNTS.entries()) {
      const res = await api(nodes[i % 2], 'mailAccounts:create', {
        title: u.user,
        provider: 'smtp-imap',
        address: u.user,
        settings: {
          smtp: { host: '127.0.0.1', port: sink.port, security: 'none' },
          imap: { host: '127.0.0.1', port: relays.get(u.user)!.port, security: 'none' },
          sync: { intervalSeconds: 1, batchSize: 100 },
        },
        secrets: { password: u.password },
      });
      expect(res.status).toBe(200);
      ids[u.user] = String(res.body.data.id);
    }
    let expected = INITIAL;
    for (let round = 0; round <= ROUNDS; round++) {
      if (round > 0) {
        for (const u of SYNC_ACCOUNTS) {
          await seedMaildir(dovecot, u.user, 'INBOX', Array.from({ length: PER_ROUND }, (_, i) => makeMessage(1000 * round + i, { to: u.user, messageId: `r${round}-${i}-${u.user}` })));
        }
        expected += PER_ROUND;
      }
      await until(
        async () => {
          for (const u of SYNC_ACCOUNTS) if ((await storedCount(ids[u.user])) !== expected) return false;
          return true;
        },
        180_000,
        `round ${round}: ${expected} mails in every account`,
      );
    }
    // let both schedulers keep competing for a while: every tick both try every account
    const pollsBefore = SYNC_ACCOUNTS.map((u) => relays.get(u.user)!.stats.polls);
    await until(() => SYNC_ACCOUNTS.every((u, i) => relays.get(u.user)!.stats.polls >= pollsBefore[i] + 10), 120_000, '10 more syncs per account');

    const pids = new Set(nodes.map((n) => String(n.server.pid)));
    const owners = new Set(SYNC_ACCOUNTS.flatMap((u) => [...(leaseOwners.get(ids[u.user]) ?? [])]));
    // eslint-disable-next-line no-console
    console.log(
      `[cluster] node pids ${[...pids].join(', ')}; lease owners seen ${[...owners].join(', ')}; ` +
        SYNC_ACCOUNTS.map((u) => {
          const { sessions, polls, maxBusy } = relays.get(u.user)!.stats;
          return `${u.user}: ${polls} syncs over ${sessions} IMAP sessions, at most ${maxBusy} busy at once`;
        }).join('; '),
    );
    for (const u of SYNC_ACCOUNTS) {
      expect({ account: u.user, maxBusySessions: relays.get(u.user)!.stats.maxBusy }).toEqual({ account: u.user, maxBusySessions: 1 });
      await expectStoredOnce(ids[u.user], expected);
    }
    // both nodes did sync work
    expect(owners.size).toBe(2);
    for (const owner of owners) expect(pids.has(owner)).toBe(true);
    const accounts = await sql('SELECT status, "consecutiveFailures" FROM "mailAccounts" WHERE id = ANY($1::bigint[])', [SYNC_ACCOUNTS.map((u) => ids[u.user])]);
    expect(accounts.every((a) => a.status === 'ok')).toBe(true);
  }, 600_000);

  it('drains the outbox once: 40 mails queued through both nodes, each Message-ID arrives once', async () => {
    const res = await api(nodes[0], 'mailAccounts:create', {
      title: 'sender',
      provider: 'smtp',
      address: SENDER.user,
      settings: { smtp: { host: '127.0.0.1', port: sink.port, security: 'none' } },
      secrets: { password: SENDER.password },
    });
    const accountId = String(res.body.data.id);
    const queued: string[] = [];
    for (let i = 0; i < 40; i++) {
      const sent = await api(nodes[i % 2], 'mailMessages:send', { accountId, to: [`rcpt${i}@example.test`], subject: `Cluster ${i}`, text: 'x', wait: false });
      expect(sent.status).toBe(200);
      queued.push(sent.body.data.messageId);
    }
    await until(async () => Number((await sql(`SELECT COUNT(*) AS n FROM "mailOutbox" WHERE "accountId" = $1 AND state = 'sent'`, [accountId]))[0].n) === 40, 120_000, 'all 40 sent');
    const rows = await sql('SELECT state, attempts, "messageId" FROM "mailOutbox" WHERE "accountId" = $1', [accountId]);
    expect(rows.every((r) => r.state === 'sent' && Number(r.attempts) === 1)).toBe(true);
    const counts = new Map<string, number>();
    for (const m of sink.received) {
      const id = /^Message-ID:\s*(<[^>]+>)/im.exec(m.raw.toString())?.[1];
      if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(queued.map((id) => counts.get(id) ?? 0)).toEqual(Array(40).fill(1));
  }, 300_000);

  it('takes over the sync of a node SIGKILLed in the middle of it, every mail once', async () => {
    const relay = relays.get(TAKEOVER.user)!;
    const res = await api(nodes[1], 'mailAccounts:create', {
      title: 'takeover',
      provider: 'smtp-imap',
      address: TAKEOVER.user,
      settings: {
        smtp: { host: '127.0.0.1', port: sink.port, security: 'none' },
        imap: { host: '127.0.0.1', port: relay.port, security: 'none' },
        sync: { intervalSeconds: 1, batchSize: 100 },
      },
      secrets: { password: TAKEOVER.password },
    });
    const id = String(res.body.data.id);
    await until(() => relay.stats.stalled, 60_000, 'the first sync to stall');
    const [held] = await until(async () => {
      const rows = await sql('SELECT "syncLeaseOwner" FROM "mailAccounts" WHERE id = $1 AND "syncLeaseOwner" IS NOT NULL', [id]);
      return rows.length ? rows : null;
    }, 30_000, 'the lease of the stalled sync');
    const holderPid = String(held.syncLeaseOwner).split('-')[0];
    const victim = nodes.find((n) => String(n.server.pid) === holderPid)!;
    expect(victim).toBeTruthy();
    const partial = await storedCount(id);
    // the stalled node keeps its lease alive: the other one does not start a second session meanwhile
    await new Promise((r) => setTimeout(r, 4000));
    expect(relay.stats.sessions).toBe(1);
    await stopProcess(victim.server, 'SIGKILL');
    // eslint-disable-next-line no-console
    console.log(`[cluster] killed node ${victim.name} (pid ${holderPid}) holding the takeover account's lease with ${partial} of 1000 mails stored`);
    const survivor = nodes.find((n) => n !== victim)!;
    await until(async () => (await storedCount(id)) === 1000, 120_000, 'the survivor to finish the sync');
    await expectStoredOnce(id, 1000);
    // the last INBOX batch commits before the sync has done the Sent folder and marked the account
    const [after] = await until(async () => {
      const rows = await sql('SELECT status, "syncLeaseOwner" FROM "mailAccounts" WHERE id = $1', [id]);
      return rows[0]?.status === 'ok' ? rows : null;
    }, 60_000, 'the account to turn ok');
    expect(after.status).toBe('ok');
    const owners = leaseOwners.get(id)!;
    expect(owners.has(String(survivor.server.pid))).toBe(true);
    expect(relay.stats.sessions).toBeGreaterThanOrEqual(2);
    // the cursor is complete and consistent with what is stored
    const [state] = await sql('SELECT cursor FROM "mailSyncState" WHERE "accountId" = $1 AND folder = $2', [id, 'INBOX']);
    const cursor = typeof state.cursor === 'string' ? JSON.parse(state.cursor) : state.cursor;
    expect(cursor).toMatchObject({ uidNext: 1001, uids: '1:1000', messages: 1000 });
  }, 300_000);
});
