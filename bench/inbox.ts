// The inbox listing with 100,000 stored messages: the first page of mailMessages:list through HTTP against the
// in-process app, for an admin and for a user assigned to one account, vs the same SQL run on the raw sqlite3
// driver; EXPLAIN QUERY PLAN of each statement; then what-if runs with bench-created indexes.
// BENCH_DB=postgres: the same on a throwaway PostgreSQL cluster (raw = the pg driver on Sequelize's connection,
// plans from EXPLAIN (ANALYZE, COSTS OFF)).
//
//   node bench/run.js inbox     INBOX_MESSAGES=100000  INBOX_REPEAT=15  INBOX_TEXT_BYTES=1500
//   BENCH_DB=postgres INBOX_MESSAGES=100000 node bench/run.js inbox
import { benchDialect, bootApp, checkIndexes, quoteId, restoreIndexes, type BenchApp } from './support/app';
import { envInt, explain, header, median, ms, now, percentile, sec, SqlProbe, table, verdict } from './support/metrics';

const N = envInt('INBOX_MESSAGES', 100_000);
const REPEAT = envInt('INBOX_REPEAT', 10);
const TEXT_BYTES = envInt('INBOX_TEXT_BYTES', 1500);
const CHUNK = 2000;
const GOAL_MS = 50;
const FOLDERS: Array<[string, number]> = [
  ['INBOX', 0.5],
  ['Sent', 0.2],
  ['Archive', 0.2],
  ['Projekte/2024', 0.05],
  ['Newsletter', 0.05],
];
const member = { email: 'member@example.test', password: 'member-bench-pw-1' };
const DIALECT = benchDialect();
const PG = DIALECT === 'postgres';
const DB_NAME = PG ? 'PostgreSQL' : 'SQLite';
/** A statement on mailMessages, as Sequelize writes it for either dialect. */
const FROM_MESSAGES = /FROM [`"]mailMessages[`"]/;

function folderOf(i: number): string {
  const x = ((i * 2654435761) >>> 0) / 4294967296;
  let acc = 0;
  for (const [f, w] of FOLDERS) {
    acc += w;
    if (x < acc) return f;
  }
  return 'INBOX';
}

const LOREM = 'Sehr geehrte Damen und Herren, anbei erhalten Sie die Unterlagen zu Ihrem Vorgang. Bitte prüfen Sie die Angaben. ';
function text(i: number, bytes: number) {
  return `Nachricht ${i}. ` + LOREM.repeat(Math.ceil(bytes / LOREM.length)).slice(0, bytes);
}

async function load(app: BenchApp, accounts: string[]) {
  const Messages = app.db.getModel('mailMessages');
  const Threads = app.db.getModel('mailThreads');
  const start = Date.UTC(2023, 0, 1);
  const span = 2 * 365 * 24 * 3600 * 1000;
  const perThread = 3;
  const t0 = now();
  // threads first (one per 3 messages), ids 1..N/3
  const threadRows = [];
  for (let t = 0; t < Math.ceil(N / perThread); t++) {
    threadRows.push({ id: t + 1, accountId: accounts[t % 5 < 3 ? 0 : 1], subject: `Vorgang ${t}`, lastMessageAt: new Date(start + ((t * perThread) / N) * span), messageCount: perThread, participants: [] });
  }
  for (let i = 0; i < threadRows.length; i += CHUNK) await Threads.bulkCreate(threadRows.slice(i, i + CHUNK), { hooks: false, validate: false });
  for (let i = 0; i < N; i += CHUNK) {
    const rows = [];
    for (let k = i; k < Math.min(N, i + CHUNK); k++) {
      const thread = Math.floor(k / perThread);
      const accountId = accounts[thread % 5 < 3 ? 0 : 1];
      const folder = folderOf(k);
      const from = { name: `Kunde ${k % 997}`, address: `kunde${k % 997}@example.test` };
      const body = text(k, TEXT_BYTES);
      rows.push({
        accountId,
        folder,
        providerId: String(k + 1),
        messageId: `<bench-${k}@example.test>`,
        references: k % perThread ? [`<bench-${k - 1}@example.test>`] : [],
        threadId: thread + 1,
        direction: folder === 'Sent' ? 'out' : 'in',
        from,
        fromAddress: from.address,
        to: [{ address: 'office@example.test' }],
        cc: [],
        bcc: [],
        replyTo: [],
        subject: k % 4 === 0 ? `Angebot Nr. ${k} – Überprüfung` : `Re: Vorgang ${thread}`,
        date: new Date(start + (k / N) * span + (k % 7) * 1000),
        snippet: body.slice(0, 200),
        text: body,
        html: k % 2 ? `<html><body><p>${body}</p><p>${body}</p></body></html>` : null,
        flags: k % 3 ? ['\\Seen'] : [],
        seen: k % 3 !== 0,
        size: 2048 + (k % 20) * 1024,
        hasAttachments: k % 10 === 9,
        headers: {},
      });
    }
    await Messages.bulkCreate(rows, { hooks: false, validate: false });
  }
  return now() - t0;
}

/** The driver itself (sqlite3 or pg), on a Sequelize connection: the raw library's time for a statement. */
async function rawSqlMs(app: BenchApp, sql: string, repeat: number): Promise<{ median: number; rows: number }> {
  const manager = app.db.sequelize.connectionManager;
  const conn: any = await manager.getConnection({});
  const times: number[] = [];
  let rows = 0;
  try {
    for (let r = 0; r < repeat; r++) {
      const t0 = now();
      const result: any[] = PG
        ? (await conn.query(sql.replace(/;\s*$/, ''))).rows
        : await new Promise((resolve, reject) => conn.all(sql.replace(/;\s*$/, ''), (err: Error | null, res: any[]) => (err ? reject(err) : resolve(res))));
      times.push(now() - t0);
      rows = result.length;
    }
  } finally {
    // PostgreSQL connections come from a pool; SQLite's one connection is kept by the manager
    if (PG) await manager.releaseConnection(conn);
  }
  return { median: median(times), rows };
}

/** The plan of a statement: SQLite's EXPLAIN QUERY PLAN, or PostgreSQL's EXPLAIN (ANALYZE, COSTS OFF) with actual times. */
async function plan(app: BenchApp, sql: string): Promise<string[]> {
  if (!PG) return explain(app.db, sql);
  const rows = await app.db.sequelize.query(`EXPLAIN (ANALYZE, COSTS OFF) ${sql}`, { type: 'SELECT' });
  // an IN list of 500 Message-IDs shows up whole in a Filter line: keep plan lines short
  return rows
    .map((r: any) => String(r['QUERY PLAN']).trimEnd())
    .filter((l: string) => l.trim())
    .map((l: string) => (l.length > 200 ? `${l.slice(0, 200)}…` : l));
}

interface Case {
  label: string;
  token: string;
  params?: Record<string, unknown>;
}

interface Measured {
  label: string;
  client: number;
  server: number;
  p95: number;
  count: number;
  statements: Array<{ sql: string; raw: number; rows: number; plan: string[] }>;
}

async function measure(app: BenchApp, probe: SqlProbe, c: Case): Promise<Measured> {
  // one call to see the statements, then the timed ones
  probe.reset();
  probe.capture = true;
  const first = await app.call('GET', 'mailMessages:list', { token: c.token, params: c.params });
  probe.capture = false;
  if (first.status !== 200) throw new Error(`${c.label}: ${first.status} ${JSON.stringify(first.body).slice(0, 300)}`);
  const client: number[] = [];
  const server: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    const res = await app.call('GET', 'mailMessages:list', { token: c.token, params: c.params });
    client.push(res.ms);
    server.push(res.serverMs);
  }
  const listSql = probe.captured.filter((s) => FROM_MESSAGES.test(s));
  const statements = [];
  for (const sql of listSql) {
    const raw = await rawSqlMs(app, sql, Math.max(3, Math.floor(REPEAT / 3)));
    statements.push({ sql, raw: raw.median, rows: raw.rows, plan: await plan(app, sql.replace(/;\s*$/, '')) });
  }
  return { label: c.label, client: median(client), server: median(server), p95: percentile(server, 95), count: first.body?.meta?.count ?? first.body?.data?.count ?? NaN, statements };
}

/** The threading lookups the sync (per batch) and the outbox (per sent mail) run, timed on the loaded table. */
async function writePathLookups(app: BenchApp, probe: SqlProbe, accountId: string) {
  const { Op } = require('@nocobase/database');
  const Messages = app.db.getModel('mailMessages');
  const ids = (k: number) => Array.from({ length: k }, (_, i) => `<bench-${(i * 7919) % N}@example.test>`);
  const shapes: Array<[string, () => Promise<unknown>]> = [
    ['thread ancestry, 1 Message-ID (outbox: per sent mail)', () => Messages.findAll({ attributes: ['messageId', 'threadId'], where: { accountId, messageId: { [Op.in]: ids(1) }, threadId: { [Op.ne]: null } }, raw: true })],
    ['thread ancestry, 500 Message-IDs (sync: per batch)', () => Messages.findAll({ attributes: ['messageId', 'threadId'], where: { accountId, messageId: { [Op.in]: ids(500) }, threadId: { [Op.ne]: null } }, raw: true })],
    ['thread stats COUNT (sync/outbox: per thread)', () => Messages.count({ where: { threadId: '77' } })],
    ['thread stats MAX(date) (sync/outbox: per thread)', () => Messages.max('date', { where: { threadId: '77' } })],
  ];
  const rows: Array<Array<string | number>> = [];
  for (const [label, run] of shapes) {
    probe.reset();
    probe.capture = true;
    await run();
    probe.capture = false;
    const sql = probe.captured.find((q) => FROM_MESSAGES.test(q));
    if (!sql) continue;
    const raw = await rawSqlMs(app, sql, 5);
    rows.push([label, `${ms(raw.median)} ms`, raw.rows, (await plan(app, sql.replace(/;\s*$/, ''))).map((l) => l.trim()).join(' / ')]);
  }
  return rows;
}

function report(title: string, results: Measured[], baselineMs: number) {
  table(title, ['first page (50 rows)', 'server median', 'server p95', 'client median', 'SQL raw (sum)', 'SQL share', 'total count'], results.map((r) => {
    const sqlMs = r.statements.reduce((a, s) => a + s.raw, 0);
    return [r.label, `${ms(r.server)} ms`, `${ms(r.p95)} ms`, `${ms(r.client)} ms`, `${ms(sqlMs)} ms`, `${((100 * sqlMs) / r.server).toFixed(0)}%`, r.count];
  }));
  console.log(`(framework floor: GET auth:check, same token, server median ${ms(baselineMs)} ms)`);
}

function printPlans(results: Measured[]) {
  const seen = new Set<string>();
  for (const r of results) {
    for (const s of r.statements) {
      const shape = s.sql.replace(/'[^']*'/g, '?').replace(/\d+/g, 'N');
      if (seen.has(shape)) continue;
      seen.add(shape);
      const short = s.sql.replace(/SELECT [`"]mailMessages[`"].*? FROM/, 'SELECT … FROM').replace(/;\s*$/, '');
      console.log(`\n[${r.label}] ${ms(s.raw)} ms raw, ${s.rows} rows: ${short}`);
      for (const step of s.plan) console.log(`    QUERY PLAN: ${step}`);
    }
  }
}

async function main() {
  header(`bench inbox — first page of mailMessages:list with ${N.toLocaleString('en')} stored messages (2 accounts, ${FOLDERS.length} folders) on ${DB_NAME}`, [
    'ours: GET /api/mailMessages:list through HTTP against the in-process app (auth, ACL, handler, JSON); server time measured in-process',
    PG
      ? 'raw:  the statements the action ran, on the raw pg driver (a Sequelize pool connection, same data); plans from EXPLAIN (ANALYZE, COSTS OFF)'
      : 'raw:  the statements the action ran, on the raw sqlite3 driver (same connection, same data)',
  ]);
  const app = await bootApp();
  try {
    const adminToken = await app.signIn();
    const user = await app.db.getRepository('users').create({ values: { email: member.email, password: member.password, nickname: 'Member', roles: ['member'] } });
    const accounts: string[] = [];
    for (const [i, address] of ['office@example.test', 'support@example.test'].entries()) {
      const res = await app.call('POST', 'mailAccounts:create', {
        token: adminToken,
        values: {
          title: address,
          provider: 'smtp-imap',
          address,
          settings: { smtp: { host: '127.0.0.1', port: 25, security: 'none' }, imap: { host: '127.0.0.1', port: 143, security: 'none' } },
          secrets: { password: 'x' },
          userIds: i === 0 ? [user.get('id')] : [],
        },
      });
      if (res.status !== 200) throw new Error(`account: ${JSON.stringify(res.body)}`);
      accounts.push(String(res.body.data.id));
    }
    const loadMs = await load(app, accounts);
    const q = (name: string) => quoteId(app.db, name);
    const byAccount = await app.db.sequelize.query(
      `SELECT ${q('accountId')} AS ${q('accountId')}, ${q('folder')}, count(*) AS n FROM ${q('mailMessages')} GROUP BY ${q('accountId')}, ${q('folder')} ORDER BY ${q('accountId')}, n DESC`,
      { type: 'SELECT' },
    );
    // PostgreSQL: statistics and the visibility map of the freshly loaded table, as autovacuum would leave them
    // (without it count(*) cannot use an index-only scan); SQLite runs without ANALYZE, as the product does
    if (PG) {
      const t = now();
      await app.db.sequelize.query(`VACUUM (ANALYZE) ${q('mailMessages')}`);
      console.log(`VACUUM (ANALYZE) "mailMessages" after loading: ${sec(now() - t)} (autovacuum's job on a live table)`);
    }
    console.log(`loaded ${N} messages (~${TEXT_BYTES} B text, html on every 2nd) in ${sec(loadMs)}: ${byAccount.map((r: any) => `${r.accountId === accounts[0] || String(r.accountId) === accounts[0] ? 'A' : 'B'}/${r.folder} ${r.n}`).join(', ')}`);
    const memberToken = await app.signIn(member.email, member.password);

    const probe = new SqlProbe(app.db);
    const floor = async (token: string) => {
      const t: number[] = [];
      for (let r = 0; r < REPEAT; r++) t.push((await app.call('GET', 'auth:check', { token })).serverMs);
      return median(t);
    };
    const cases: Case[] = [
      { label: 'admin, all accounts', token: adminToken },
      { label: 'admin, account A / INBOX', token: adminToken, params: { accountId: accounts[0], folder: 'INBOX' } },
      { label: 'member (account A), all', token: memberToken },
      { label: 'member, account A / INBOX', token: memberToken, params: { accountId: accounts[0], folder: 'INBOX' } },
      { label: 'admin, search q=Angebot', token: adminToken, params: { q: 'Angebot' } },
    ];
    const run = async () => {
      const out: Measured[] = [];
      for (const c of cases) out.push(await measure(app, probe, c));
      return out;
    };

    const floorMs = await floor(adminToken);
    const asIs = await run();
    report(`as is (indexes present in ${DB_NAME}: ${(await checkIndexes(app.db)).filter((i) => i.table === 'mailMessages' && i.present).length} of ${(await checkIndexes(app.db)).filter((i) => i.table === 'mailMessages').length} declared on mailMessages)`, asIs, floorMs);
    printPlans(asIs);

    // lookups of the write paths that run against the same table: do they stay cheap at this size?
    const lookups = await writePathLookups(app, probe, accounts[0]);
    table(`write-path lookups on the ${N}-row table (raw ${PG ? 'pg' : 'sqlite3'}, median)`, ['lookup (where it runs)', 'raw', 'rows', 'query plan'], lookups);

    // what-if 1: the declared indexes exist (older trees lost them on SQLite; see bench/README.md)
    const restored = await restoreIndexes(app.db);
    let declared = asIs;
    if (restored.length) {
      await app.db.sequelize.query(PG ? `ANALYZE ${q('mailMessages')}` : 'ANALYZE');
      declared = await run();
      report(`what-if 1: the declared indexes created by the bench (${restored.length}: ${restored.filter((r) => r.startsWith('mailMessages')).join(', ')}) + ANALYZE`, declared, floorMs);
      printPlans(declared);
    } else {
      console.log('\n(what-if 1 skipped: every declared index is present already)');
    }

    // what-if 2: indexes shaped like the listing's ORDER BY date DESC, id DESC
    const whatIf: Array<[string, string[]]> = [
      ['bench_mail_messages_date_id', ['date', 'id']],
      ['bench_mail_messages_account_date_id', ['accountId', 'date', 'id']],
      ['bench_mail_messages_account_folder_date_id', ['accountId', 'folder', 'date', 'id']],
      ['bench_mail_messages_account_message_id', ['accountId', 'messageId']],
    ];
    for (const [name, cols] of whatIf) {
      await app.db.sequelize.query(`CREATE INDEX IF NOT EXISTS ${name} ON ${q('mailMessages')} (${cols.map(q).join(', ')})`);
    }
    await app.db.sequelize.query(PG ? `ANALYZE ${q('mailMessages')}` : 'ANALYZE');
    const shaped = await run();
    report('what-if 2: + (date, id), (accountId, date, id), (accountId, folder, date, id), (accountId, messageId)', shaped, floorMs);
    printPlans(shaped);
    table('write-path lookups with the what-if 2 indexes', ['lookup (where it runs)', 'raw', 'rows', 'query plan'], await writePathLookups(app, probe, accounts[0]));

    // does a later schema sync keep the indexes? NocoBase runs db.sync() e.g. when a plugin is enabled
    await app.db.sequelize.query('DROP INDEX IF EXISTS bench_mail_messages_date_id');
    const before = (await checkIndexes(app.db)).filter((i) => !i.present).length;
    await app.db.sync();
    const after = (await checkIndexes(app.db)).filter((i) => !i.present);
    console.log(
      `\nafter one db.sync(): ${after.length} declared mail indexes missing (before: ${before})` +
        (after.length ? ` — ${[...new Set(after.map((i) => i.table))].join(', ')} were rebuilt by the sync and lost them` : ''),
    );

    console.log('');
    const firstPages = asIs.filter((r) => !r.label.includes('search'));
    const worst = firstPages.reduce((a, b) => (b.server > a.server ? b : a));
    verdict(
      `inbox first page < ${GOAL_MS} ms on ${DB_NAME} (as is)`,
      worst.server < GOAL_MS,
      asIs.map((r) => `${r.label} ${ms(r.server)} ms`).join('; '),
    );
    const worstShaped = shaped.filter((r) => !r.label.includes('search')).reduce((a, b) => (b.server > a.server ? b : a));
    console.log(
      `what-if: with the declared indexes the worst first page is ${ms(declared.filter((r) => !r.label.includes('search')).reduce((a, b) => Math.max(a, b.server), 0))} ms; ` +
        `with the ORDER BY-shaped indexes ${ms(worstShaped.server)} ms (${worstShaped.label})`,
    );
  } finally {
    await app.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
