// Workflow sending: 1,000 executions of an asynchronous collection-trigger workflow (on create) whose one node is
// our "mailbridgeSend", vs the same 1,000 mails through raw pooled nodemailer, and vs the same workflow with a
// trivial calculation node (what the workflow engine costs on its own).
//
//   node bench/run.js workflow      WF_RUNS=1000  WF_BYTES=10240
import nodemailer from 'nodemailer';
import { startSmtpSink, type SmtpSink } from '@mailbridge/mail-testkit';
import { poolOptions } from '../packages/mail-core/src/providers/smtp/smtpTransport';
import { bootApp, checkIndexes, type BenchApp } from './support/app';
import { createSmtpAccount } from './support/accounts';
import { cpuClock, envInt, explain, header, median, ms, now, pct, percentile, rate, sec, SqlProbe, sqlKey, table, verdict } from './support/metrics';
import { printLogCounts, resetLogCounts, tapLogs } from './support/logTap';
import { probeTransport } from './support/transportProbe';

const N = envInt('WF_RUNS', 1000);
const BYTES = envInt('WF_BYTES', 10 * 1024);
const TIMEOUT_MS = envInt('WF_TIMEOUT_S', 120) * 1000;
const BASE_N = envInt('WF_BASELINE_RUNS', N);
const PACED_N = envInt('WF_PACED_RUNS', 100);
const sender = { user: 'office@example.test', password: 'office-bench-pw' };
const RCPT = 'kunde@example.test';
const NODE = 'mailbridgeSend';

const WORKFLOW_TABLES = /^(workflows|executions|jobs|flow_nodes|workflowStats|workflowVersionStats|userWorkflowTasks|workflowTasks|workflow\w*)$/;
const MAIL_TABLES = /^mail/;

function classify(sql: string): string {
  if (sql.includes('/*bench*/')) return 'bench: progress polling';
  const key = sqlKey(sql);
  const table = key.split(' ')[1] ?? '';
  if (WORKFLOW_TABLES.test(table)) return `workflow: ${key}`;
  if (key === 'SELECT mailOutbox' && /`jobId` =/.test(sql)) return 'mail: SELECT mailOutbox WHERE jobId (enqueueForJob)';
  if (MAIL_TABLES.test(table)) return `mail: ${key}`;
  if (['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE'].includes(key)) return `transaction ${key}`;
  return `other: ${key}`;
}

function bodyText(): string {
  const line = 'Guten Tag, Ihr Vorgang ist bei uns eingegangen und wird bearbeitet. Mit freundlichen Grüßen\n';
  return line.repeat(Math.ceil(BYTES / line.length)).slice(0, BYTES);
}

async function rawNodemailer(sink: SmtpSink, maxConnections: number, text: string) {
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections,
    host: sink.host,
    port: sink.port,
    secure: false,
    ignoreTLS: true,
    auth: { user: sender.user, pass: sender.password },
    logger: false,
  });
  const send = (i: number) => transport.sendMail({ from: { name: 'Office', address: sender.user }, to: RCPT, subject: `Ihr Vorgang: Fall ${i}`, text });
  await Promise.all(Array.from({ length: 20 }, (_, i) => send(i)));
  const before = sink.received.length;
  const cpu = cpuClock();
  const t0 = now();
  await Promise.all(Array.from({ length: N }, (_, i) => send(i)));
  const t = now() - t0;
  const cpuMs = cpu();
  transport.close();
  return { n: sink.received.length - before, ms: t, cpuMs };
}

async function countSql(app: BenchApp, sql: string): Promise<number> {
  const [row] = await app.db.sequelize.query(`SELECT /*bench*/ ${sql}`, { type: 'SELECT' });
  return Number(Object.values(row as any)[0]);
}

interface RunResult {
  n: number;
  createMs: number;
  firstDoneMs: number;
  allDoneMs: number;
  resolved: number;
  failed: number;
  stalled: boolean;
  delivered: number;
  cpuMs: number;
  sql: Map<string, { n: number; ms: number }>;
}

const STALL_MS = envInt('WF_STALL_S', 20) * 1000;

/**
 * burst: creates n records back to back, then waits until n executions ended (or nothing moved for WF_STALL_S).
 * paced: creates one record and waits until its execution ended before the next (latency, no overlap).
 */
async function runWorkflow(app: BenchApp, probe: SqlProbe, workflowId: number, collection: string, sink: SmtpSink, n: number, mode: 'burst' | 'paced'): Promise<RunResult> {
  const repo = app.db.getRepository(collection);
  const sinkBefore = sink.received.length;
  const done = async () => ({
    resolved: await countSql(app, `count(*) FROM executions WHERE workflowId = ${workflowId} AND status = 1`),
    failed: await countSql(app, `count(*) FROM executions WHERE workflowId = ${workflowId} AND status < 0`),
  });
  probe.reset();
  const cpu = cpuClock();
  const t0 = now();
  let firstDoneMs = NaN;
  let createMs = 0;
  let state = { resolved: 0, failed: 0 };
  let stalled = false;
  if (mode === 'paced') {
    for (let i = 0; i < n && !stalled; i++) {
      const tc = now();
      await repo.create({ values: { title: `Fall ${i}`, email: RCPT } });
      createMs += now() - tc;
      const deadline = now() + STALL_MS;
      for (;;) {
        state = await done();
        if (state.resolved + state.failed > i) break;
        if (now() > deadline) {
          stalled = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      if (i === 0) firstDoneMs = now() - t0;
    }
  } else {
    for (let i = 0; i < n; i++) await repo.create({ values: { title: `Fall ${i}`, email: RCPT } });
    createMs = now() - t0;
    let lastProgress = now();
    let last = -1;
    let lastShown = 0;
    for (;;) {
      if (now() - lastShown >= 5000) {
        lastShown = now();
        console.log(`  [burst +${sec(now() - t0)}] ${await progress(app, workflowId)}, sink ${sink.received.length - sinkBefore}`);
      }
      state = await done();
      // progress = executions ending or mails arriving; executions whose resume failed never end
      const count = state.resolved + state.failed + sink.received.length;
      if (state.resolved > 0 && Number.isNaN(firstDoneMs)) firstDoneMs = now() - t0;
      if (count !== last) {
        last = count;
        lastProgress = now();
      }
      if (state.resolved + state.failed >= n || now() - t0 > TIMEOUT_MS) break;
      if (now() - lastProgress > STALL_MS) {
        stalled = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const allDoneMs = now() - t0;
  return { n, createMs, firstDoneMs, allDoneMs, ...state, stalled, delivered: sink.received.length - sinkBefore, cpuMs: cpu(), sql: probe.snapshot() };
}

/** Executions by status, jobs by status and outbox entries by state of one workflow, for the burst's timeline. */
async function progress(app: BenchApp, workflowId: number): Promise<string> {
  const q = (sql: string) => app.db.sequelize.query(`SELECT /*bench*/ ${sql}`, { type: 'SELECT' }) as Promise<any[]>;
  const name = (v: unknown) => (v === null ? 'queueing' : ({ 0: 'started', 1: 'resolved', [-1]: 'failed', [-2]: 'error', [-3]: 'aborted' } as any)[String(v)] ?? String(v));
  const executions = await q(`status AS k, count(*) AS n FROM executions WHERE workflowId = ${workflowId} GROUP BY status`);
  const jobs = await q(`j.status AS k, count(*) AS n FROM jobs j JOIN executions e ON e.id = j.executionId WHERE e.workflowId = ${workflowId} GROUP BY j.status`);
  const outbox = await q(`o.state AS k, count(*) AS n FROM mailOutbox o JOIN jobs j ON j.id = o.jobId JOIN executions e ON e.id = j.executionId WHERE e.workflowId = ${workflowId} GROUP BY o.state`);
  const fmt = (rows: any[], label: (k: unknown) => string) => rows.map((r) => `${label(r.k)} ${r.n}`).join(' ') || '–';
  const jobName = (v: unknown) => ({ 0: 'pending', 1: 'resolved', [-1]: 'failed' } as any)[String(v)] ?? String(v);
  return `executions: ${fmt(executions, name)}; jobs: ${fmt(jobs, jobName)}; outbox: ${fmt(outbox, String)}`;
}

function dbTime(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v !== 'string') return NaN;
  return Date.parse(v.replace(' ', 'T').replace(/ ([+-]\d\d:\d\d)$/, '$1'));
}

/** Per execution, from the rows' own timestamps: how long each step of the path took (median, p95). */
async function stepTimes(app: BenchApp, workflowId: number, collection: string) {
  const rows: any[] = await app.db.sequelize.query(
    `SELECT /*bench*/ c.createdAt AS rc, e.createdAt AS ec, e.updatedAt AS eu, j.createdAt AS jc, j.updatedAt AS ju, o.createdAt AS oc, o.sentAt AS os
       FROM executions e
       JOIN \`${collection}\` c ON c.id = json_extract(e.context, '$.data.id')
       LEFT JOIN jobs j ON j.executionId = e.id
       LEFT JOIN mailOutbox o ON o.jobId = j.id
      WHERE e.workflowId = ${workflowId} AND e.status = 1`,
    { type: 'SELECT' },
  );
  const steps: Array<[string, string, string]> = [
    ['record created → execution row', 'rc', 'ec'],
    ['execution row → job saved pending (dispatch + our run())', 'ec', 'jc'],
    ['job pending → outbox entry queued', 'jc', 'oc'],
    ['outbox entry → sent (claim, SMTP, bookkeeping)', 'oc', 'os'],
    ['sent → job resolved (sent copy, linking, resume)', 'os', 'ju'],
    ['job resolved → execution ended', 'ju', 'eu'],
    ['record created → execution ended', 'rc', 'eu'],
  ];
  return steps.map(([label, a, b]) => {
    const d = rows.map((r) => dbTime(r[b]) - dbTime(r[a])).filter((x) => Number.isFinite(x));
    return [label, d.length, `${ms(median(d))} ms`, `${ms(percentile(d, 95))} ms`];
  });
}

async function main() {
  header(`bench workflow — ${N} executions of a collection-trigger workflow (async, on create) sending one mail each`, [
    'ours:     create N records → N executions → node "mailbridgeSend" (job pending → outbox → SMTP → job resumed);',
    '          "paced": one record at a time, each waited for; "burst": N records back to back',
    'baseline: the same workflow with one calculation node instead (the workflow engine alone)',
    'raw:      the same N mails through nodemailer pool (same maxConnections) to the same sink',
  ]);
  tapLogs();
  const sink = await startSmtpSink({ users: [sender] });
  const app = await bootApp({ plugins: ['workflow'] });
  try {
    const token = await app.signIn();
    const accountId = await createSmtpAccount(app, token, sink, sender, 'Office');
    const model = await app.db.getRepository('mailAccounts').findOne({ filterByTk: accountId });
    const maxConnections = poolOptions((await app.mail.engine.config(model)) as any).maxConnections ?? 3;
    const text = bodyText();

    // each collection synced on its own, as the collection manager does: a global db.sync() would rebuild the
    // mail tables on SQLite and drop their indexes again (see bench/README.md)
    for (const name of ['cases', 'casesPaced', 'casesBaseline']) {
      app.db.collection({ name, fields: [{ name: 'title', type: 'string' }, { name: 'email', type: 'string' }] });
      await app.db.getCollection(name).sync();
    }
    const lost = (await checkIndexes(app.db)).filter((i) => !i.present);
    if (lost.length) console.log(`note: ${lost.length} declared mail indexes missing before the runs`);

    const raw = await rawNodemailer(sink, maxConnections, text);
    const rawRate = raw.n / (raw.ms / 1000);

    const sendStats = probeTransport(app.mail.engine);
    const probe = new SqlProbe(app.db, classify);
    const workflows = app.db.getRepository('workflows');
    const makeWorkflow = async (collection: string, node: { type: string; config: any }) => {
      const workflow = await workflows.create({
        values: { title: `bench ${collection}`, enabled: true, type: 'collection', sync: false, config: { mode: 1, collection } },
      });
      await workflow.createNode({ type: node.type, config: node.config, title: node.type });
      return workflow;
    };
    const sendNode = {
      type: NODE,
      config: { accountId, to: ['{{$context.data.email}}'], subject: 'Ihr Vorgang: {{$context.data.title}}', contentType: 'text', text },
    };

    const baselineWf = await makeWorkflow('casesBaseline', { type: 'calculation', config: { engine: 'math.js', expression: '1 + 1' } });
    const baseline = await runWorkflow(app, probe, baselineWf.get('id'), 'casesBaseline', sink, BASE_N, 'burst');
    await baselineWf.update({ enabled: false });

    resetLogCounts();
    const pacedWf = await makeWorkflow('casesPaced', sendNode);
    const paced = await runWorkflow(app, probe, pacedWf.get('id'), 'casesPaced', sink, PACED_N, 'paced');
    await pacedWf.update({ enabled: false });
    const pacedSteps = await stepTimes(app, pacedWf.get('id'), 'casesPaced');
    printLogCounts(`errors and warnings logged during the paced run (${PACED_N} executions one after the other)`);

    resetLogCounts();
    sendStats.reset();
    const oursWf = await makeWorkflow('cases', sendNode);
    const ours = await runWorkflow(app, probe, oursWf.get('id'), 'cases', sink, N, 'burst');
    await oursWf.update({ enabled: false });
    const burstSteps = await stepTimes(app, oursWf.get('id'), 'cases');
    printLogCounts(`errors and warnings logged during the burst run (${N} records created back to back)`);
    const oursRate = ours.delivered / (ours.allDoneMs / 1000);
    const pacedRate = paced.delivered / (paced.allDoneMs / 1000);
    const state = (r: RunResult) =>
      `${r.resolved}/${r.n}${r.failed ? ` (${r.failed} failed)` : ''}${r.stalled ? ' STALLED' : r.resolved + r.failed < r.n ? ' UNFINISHED' : ''}`;

    table(`workflow executions, one mail each (pool of ${maxConnections}; SQLite ${process.env.BENCH_DB_FILE ? 'file' : 'in memory'})`, ['path', 'executions done', 'mails', 'records created in', 'all done after', 'per s', 'cpu', 'vs raw'], [
      [`raw nodemailer pool, ${N} mails`, '', raw.n, '', sec(raw.ms), rate(raw.n, raw.ms), sec(raw.cpuMs), '1.00'],
      [`baseline: calculation node, ${BASE_N} records back to back`, state(baseline), '', sec(baseline.createMs), sec(baseline.allDoneMs), rate(baseline.resolved, baseline.allDoneMs), sec(baseline.cpuMs), ''],
      [`ours paced: mailbridgeSend, ${PACED_N} one after the other`, state(paced), paced.delivered, sec(paced.createMs), sec(paced.allDoneMs), rate(paced.delivered, paced.allDoneMs), sec(paced.cpuMs), (pacedRate / rawRate).toFixed(3)],
      [`ours burst: mailbridgeSend, ${N} records back to back`, state(ours), ours.delivered, sec(ours.createMs), sec(ours.allDoneMs), rate(ours.delivered, ours.allDoneMs), sec(ours.cpuMs), (oursRate / rawRate).toFixed(3)],
    ]);
    console.log(
      `burst: first execution done after ${ms(ours.firstDoneMs)} ms; SMTP sends overlapped up to ${sendStats.maxInFlight} at once; ` +
        (ours.stalled ? `stopped after ${STALL_MS / 1000} s without progress` : ours.resolved + ours.failed < N ? `stopped at the ${TIMEOUT_MS / 1000} s limit` : 'all ended') +
        `; at the end: ${await progress(app, oursWf.get('id'))}`,
    );
    const ids = sink.received.map((m) => /^Message-ID:\s*(<[^>]+>)/im.exec(m.raw.subarray(0, 4096).toString('latin1'))?.[1] ?? '');
    const dupes = ids.length - new Set(ids).size;
    console.log(`the sink got ${ids.length} mails in this run's app, ${dupes} of them a second copy of a Message-ID it had already received${dupes ? ' (a mail sent twice)' : ''}`);
    table('step times per execution, from the rows\' timestamps (paced = no queueing)', ['step', 'paced n', 'paced median', 'paced p95'], pacedSteps);
    table('step times per execution in the burst (includes queueing behind the other executions)', ['step', 'n', 'median', 'p95'], burstSteps);

    const group = (sql: Map<string, { n: number; ms: number }>, prefix: string) =>
      [...sql].filter(([k]) => k.startsWith(prefix)).reduce((a, [, x]) => ({ n: a.n + x.n, ms: a.ms + x.ms }), { n: 0, ms: 0 });
    const per = (v: number, n: number) => (n ? (v / n).toFixed(2) : '–');
    const parts = (r: RunResult) => ({ wf: group(r.sql, 'workflow:'), mail: group(r.sql, 'mail:'), tx: group(r.sql, 'transaction'), other: group(r.sql, 'other:') });
    const b = parts(baseline);
    const p = parts(paced);
    table('SQL per execution (statements; driver time in ms)', ['part', 'baseline stmts', 'baseline ms', 'ours paced stmts', 'ours paced ms'], [
      ['workflow tables (executions, jobs, workflows …)', per(b.wf.n, BASE_N), per(b.wf.ms, BASE_N), per(p.wf.n, PACED_N), per(p.wf.ms, PACED_N)],
      ['mail tables (outbox, sent copy, threads …)', per(b.mail.n, BASE_N), per(b.mail.ms, BASE_N), per(p.mail.n, PACED_N), per(p.mail.ms, PACED_N)],
      ['BEGIN / COMMIT / ROLLBACK', per(b.tx.n, BASE_N), per(b.tx.ms, BASE_N), per(p.tx.n, PACED_N), per(p.tx.ms, PACED_N)],
      ['other tables (the records …)', per(b.other.n, BASE_N), per(b.other.ms, BASE_N), per(p.other.n, PACED_N), per(p.other.ms, PACED_N)],
      ['wall per execution', '', per(baseline.allDoneMs, BASE_N), '', per(paced.allDoneMs, PACED_N)],
    ]);
    const noBench = (m: Map<string, { n: number; ms: number }>) => new Map([...m].filter(([k]) => !k.startsWith('bench')));
    probe.print('SQL of the paced run by statement', PACED_N, 'execution', noBench(paced.sql), 30);
    probe.print('SQL of the burst run by statement', N, 'execution', noBench(ours.sql), 30);
    probe.print('SQL of the baseline run by statement', BASE_N, 'execution', noBench(baseline.sql), 12);

    const byJob = probe.examples.get('mail: SELECT mailOutbox WHERE jobId (enqueueForJob)');
    if (byJob) console.log(`EXPLAIN QUERY PLAN of enqueueForJob's lookup by jobId: ${(await explain(app.db, byJob.replace(/;\s*$/, ''))).join(' / ')}`);

    console.log('');
    verdict(
      'workflow send ≥ 0.8 × raw nodemailer (the send goal; the brief sets none for workflows)',
      oursRate / rawRate >= 0.8 && !ours.stalled,
      `burst: ${state(ours)} executions, ${ours.delivered} mails in ${sec(ours.allDoneMs)} = ${oursRate.toFixed(1)} mails/s vs raw ${rawRate.toFixed(0)} mails/s = ${(oursRate / rawRate).toFixed(3)}; ` +
        `paced: ${pacedRate.toFixed(1)} mails/s; workflow engine alone (calculation node) ${rate(baseline.resolved, baseline.allDoneMs)} executions/s`,
    );
  } finally {
    // background sends the node started (outbox.process is fired and forgotten) may still run: give them a
    // moment, then stop; a rejection from work that outlives the app is reported, not fatal
    let late = 0;
    process.on('unhandledRejection', (err: any) => {
      late++;
      if (late === 1) console.log(`note: background work still running when the app stopped: ${err?.code ?? ''} ${err?.message ?? err}`);
    });
    for (let i = 0; i < 50; i++) {
      const busy = await app.db.getModel('mailOutbox').count({ where: { state: 'sending' } }).catch(() => 0);
      if (!busy) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await app.destroy();
    await sink.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
