// Small measuring tools shared by the benchmarks: a clock, an SQL probe on Sequelize's query hooks, CPU time,
// and plain-text tables.
import fs from 'fs';

export const now = () => performance.now();

export function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
}

export function median(values: number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const ms = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) : '–');
export const sec = (vMs: number) => `${(vMs / 1000).toFixed(2)} s`;
export const rate = (n: number, vMs: number) => (vMs > 0 ? (n / (vMs / 1000)).toFixed(0) : '–');
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
export const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–');

let verdictShown = false;

/** Prints a table with a title; the first column is left-aligned, the others right-aligned. */
export function table(title: string, header: string[], rows: Array<Array<string | number>>) {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? (v ?? '').padEnd(widths[c]) : (v ?? '').padStart(widths[c]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}

export function verdict(what: string, ok: boolean, detail: string) {
  if (!verdictShown) console.log(`load average at the end: ${loadavg()}`);
  verdictShown = true;
  console.log(`VERDICT ${what}: ${ok ? 'MEETS' : 'MISSES'} the goal — ${detail}`);
}

/**
 * CPU per thread of this process (Linux: /proc/self/task), as a function that answers the milliseconds each thread
 * spent since the call, the busiest first; the main thread is "main", the others by thread id. Threads that ended
 * meanwhile are missing (their time is in cpuClock's total).
 */
export function threadCpuClock(): () => Array<{ thread: string; ms: number }> {
  const read = () => {
    const out = new Map<string, number>();
    let tasks: string[] = [];
    try {
      tasks = fs.readdirSync('/proc/self/task');
    } catch {
      return out; // not Linux
    }
    const tick = 10; // USER_HZ is 100 on Linux
    for (const tid of tasks) {
      try {
        const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(tid === String(process.pid) ? 'main' : `thread ${tid}`, (Number(fields[11]) + Number(fields[12])) * tick);
      } catch {
        // the thread ended
      }
    }
    return out;
  };
  const before = read();
  return () =>
    [...read()]
      .map(([thread, ms]) => ({ thread, ms: ms - (before.get(thread) ?? 0) }))
      .filter((t) => t.ms > 0)
      .sort((a, b) => b.ms - a.ms);
}

/** CPU time (user + system, all threads of this process, incl. SQLite's worker threads) between two calls. */
export function cpuClock() {
  let last = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(last);
    last = process.cpuUsage();
    return (d.user + d.system) / 1000;
  };
}

export interface SqlStat {
  n: number;
  ms: number;
}

/** What kind of statement, on which table: "INSERT mailThreads", "COUNT mailMessages", "BEGIN" … */
export function sqlKey(sql: string): string {
  const s = sql.trim().replace(/^\/\*[\s\S]*?\*\/\s*/, ''); // a leading comment (insertRows marks its INSERTs)
  const verb = (/^\w+/.exec(s)?.[0] ?? '?').toUpperCase();
  if (['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'PRAGMA'].includes(verb)) return verb;
  const table =
    verb === 'INSERT'
      ? /INTO\s+[`"]?(\w+)/i.exec(s)?.[1]
      : verb === 'UPDATE'
        ? /^UPDATE\s+[`"]?(\w+)/i.exec(s)?.[1]
        : /FROM\s+[`"]?(\w+)/i.exec(s)?.[1];
  let kind = verb;
  if (verb === 'SELECT') {
    if (/^SELECT\s+count\(/i.test(s)) kind = 'COUNT';
    else if (/^SELECT\s+max\(/i.test(s)) kind = 'MAX';
  }
  return `${kind} ${table ?? '?'}`;
}

/**
 * Counts and times every SQL statement through Sequelize's beforeQuery/afterQuery hooks (time from handing the
 * statement to the driver until its result is parsed; concurrent statements overlap).
 */
export class SqlProbe {
  stats = new Map<string, SqlStat>();
  /** The last statements seen, when capture is on (for EXPLAIN QUERY PLAN). */
  captured: string[] = [];
  /** The first statement seen of each key, for EXPLAIN QUERY PLAN. */
  examples = new Map<string, string>();
  capture = false;
  private started = new WeakMap<object, number>();

  constructor(db: any, private classify: (sql: string) => string = sqlKey) {
    const sequelize = db.sequelize;
    sequelize.addHook('beforeQuery', (_options: any, query: any) => {
      this.started.set(query, now());
    });
    sequelize.addHook('afterQuery', (_options: any, query: any) => {
      const t0 = this.started.get(query);
      if (t0 === undefined || !query.sql) return;
      const key = this.classify(query.sql);
      const s = this.stats.get(key) ?? { n: 0, ms: 0 };
      s.n++;
      s.ms += now() - t0;
      this.stats.set(key, s);
      if (this.capture) this.captured.push(query.sql);
      if (!this.examples.has(key)) this.examples.set(key, query.sql);
    });
  }

  reset() {
    this.stats = new Map();
    this.captured = [];
  }

  snapshot(): Map<string, SqlStat> {
    return new Map([...this.stats].map(([k, v]) => [k, { ...v }]));
  }

  totals(stats = this.stats) {
    let n = 0;
    let t = 0;
    for (const s of stats.values()) {
      n += s.n;
      t += s.ms;
    }
    return { n, ms: t };
  }

  /** Statements per unit (per message, per mail …) and time, largest first. */
  print(title: string, units: number, unitName: string, stats = this.stats, top = 20) {
    const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const total = this.totals(stats);
    table(
      title,
      ['statement', 'count', `per ${unitName}`, 'time', 'share'],
      [
        ...rows.slice(0, top).map(([k, s]) => [k, s.n, (s.n / units).toFixed(2), sec(s.ms), pct(s.ms, total.ms)]),
        ['all SQL', total.n, (total.n / units).toFixed(2), sec(total.ms), '100%'],
      ],
    );
  }
}

/** Sums of named phases (wall time in ms). */
export class Phases {
  readonly ms = new Map<string, number>();
  readonly count = new Map<string, number>();
  add(name: string, t: number) {
    this.ms.set(name, (this.ms.get(name) ?? 0) + t);
    this.count.set(name, (this.count.get(name) ?? 0) + 1);
  }
  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const t0 = now();
    try {
      return await work();
    } finally {
      this.add(name, now() - t0);
    }
  }
  get(name: string) {
    return this.ms.get(name) ?? 0;
  }
}

export function machine(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const os = require('os');
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, node ${process.version}, ${os.platform()} ${os.release()}`;
}

export function loadavg(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (require('os').loadavg() as number[]).map((v) => v.toFixed(2)).join(' / ');
}

export function header(title: string, lines: string[]) {
  console.log(`\n${title}`);
  console.log(`machine: ${machine()}`);
  console.log(`date: ${new Date().toISOString()}, load average ${loadavg()} (others' work on this machine skews figures)`);
  for (const l of lines) console.log(l);
}

/** SQLite's EXPLAIN QUERY PLAN of a statement, one line per step. */
export async function explain(db: any, sql: string): Promise<string[]> {
  const rows = await db.sequelize.query(`EXPLAIN QUERY PLAN ${sql}`, { type: 'SELECT' });
  return rows.map((r: any) => r.detail);
}
