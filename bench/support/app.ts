import fs from 'fs';
import os from 'os';
import path from 'path';
import http from 'http';
import type { AddressInfo } from 'net';
import { PluginMailServer } from '../../src/server/plugin';
import { PACKAGE, setNocoBaseEnv, startNocoBase } from '../../test/support/nocobaseBoot';

// Boots NocoBase 2.2 in-process with Mailbridge from src/ (bundled by bench/run.js), on SQLite in memory unless
// BENCH_DB_FILE=1 (then a file in the temp storage dir). NocoBase would look for the plugin's collections in the
// built package (dist/); the bench defines them from src/server/collections instead, so it measures the code as
// it is in the working tree.
// BENCH_DB=postgres: a throwaway PostgreSQL cluster instead (scripts/testing/postgres.js, needs postgresql installed),
// with one database for the run, stopped and removed by destroy().
export const ROOT = process.env.BENCH_ROOT || path.resolve(__dirname, '..', '..');
export { PACKAGE };

function collectionDefinitions(): any[] {
  const dir = path.join(ROOT, 'src/server/collections');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => {
      // esbuild bundles every file the pattern can match (a glob import)
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const mod = require(`../../src/server/collections/${f}`);
      return mod.default ?? mod;
    })
    // like NocoBase's importer: only plain objects are collection definitions (helpers may live there too)
    .filter((d) => d && typeof d === 'object' && Object.getPrototypeOf(d) === Object.prototype && typeof d.name === 'string');
}

class BenchPluginMail extends PluginMailServer {
  async beforeLoad() {
    for (const definition of collectionDefinitions()) this.db.collection(definition);
  }
}

export interface IndexCheck {
  table: string;
  name: string;
  fields: string[];
  unique: boolean;
  present: boolean;
}

export type BenchDialect = 'sqlite' | 'postgres';

/** The dialect the bench runs on: BENCH_DB=postgres, else SQLite. */
export function benchDialect(): BenchDialect {
  const v = (process.env.BENCH_DB || 'sqlite').toLowerCase();
  if (v === 'postgres' || v === 'postgresql' || v === 'pg') return 'postgres';
  if (v !== 'sqlite') throw new Error(`BENCH_DB=${v}: use sqlite or postgres`);
  return 'sqlite';
}

/** Quotes an identifier for the database the app runs on. */
export function quoteId(db: any, name: string): string {
  return db.sequelize.getDialect() === 'postgres' ? `"${name.replace(/"/g, '""')}"` : `\`${name.replace(/`/g, '``')}\``;
}

/** The indexes our collections declare, and whether the database really has them. */
export async function checkIndexes(db: any): Promise<IndexCheck[]> {
  const out: IndexCheck[] = [];
  const sql =
    db.sequelize.getDialect() === 'postgres'
      ? 'SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()'
      : "SELECT name FROM sqlite_master WHERE type = 'index'";
  const present = new Set((await db.sequelize.query(sql, { type: 'SELECT' })).map((r: any) => r.name));
  for (const collection of db.collections.values()) {
    if (!/^mail/.test(collection.name)) continue;
    const model = collection.model;
    for (const index of model.options.indexes ?? []) {
      const fields = (index.fields ?? []).map((f: any) => (typeof f === 'string' ? model.rawAttributes[f]?.field ?? f : f.name));
      out.push({ table: model.tableName, name: index.name, fields, unique: Boolean(index.unique), present: present.has(index.name) });
    }
  }
  return out;
}

/** Creates the declared indexes SQLite lost (what-if runs with BENCH_RESTORE_INDEXES=1; never done by default). */
export async function restoreIndexes(db: any): Promise<string[]> {
  const created: string[] = [];
  for (const index of await checkIndexes(db)) {
    if (index.present) continue;
    const cols = index.fields.map((f) => quoteId(db, f)).join(', ');
    await db.sequelize.query(`CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${quoteId(db, index.name)} ON ${quoteId(db, index.table)} (${cols})`);
    created.push(`${index.table}(${index.fields.join(', ')})`);
  }
  return created;
}

export interface BenchApp {
  app: any;
  db: any;
  url: string;
  storage: string;
  dialect: BenchDialect;
  /** The plugin's services: sync, outbox, engine … */
  mail: any;
  call(method: 'GET' | 'POST', action: string, opts?: { token?: string; params?: Record<string, unknown>; values?: unknown }): Promise<{ status: number; body: any; ms: number; serverMs: number }>;
  signIn(account?: string, password?: string): Promise<string>;
  destroy(): Promise<void>;
}

export async function bootApp(options: { plugins?: any[] } = {}): Promise<BenchApp> {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbridge-bench-'));
  setNocoBaseEnv(ROOT, storage, 'mailbridge-bench-key');
  process.env.MAILBRIDGE_BACKGROUND = 'off';
  const dialect = benchDialect();
  let database: Record<string, unknown>;
  let stopPostgres: (() => void) | undefined;
  if (dialect === 'postgres') {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { startPostgres } = require('../../scripts/testing/postgres');
    const pg = await startPostgres();
    if (!pg) throw new Error('BENCH_DB=postgres: no PostgreSQL found (apt-get install postgresql, or set PG_BIN)');
    stopPostgres = () => pg.stop();
    const name = `mailbridge_bench_${process.pid}`;
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { Client } = require('pg');
      const admin = new Client({ host: pg.env.DB_HOST, port: Number(pg.env.DB_PORT), user: pg.env.DB_USER, password: pg.env.DB_PASSWORD, database: 'postgres' });
      await admin.connect();
      await admin.query(`CREATE DATABASE "${name}"`);
      await admin.end();
    } catch (err) {
      stopPostgres();
      throw err;
    }
    Object.assign(process.env, pg.env, { DB_DATABASE: name });
    database = { dialect: 'postgres', host: pg.env.DB_HOST, port: Number(pg.env.DB_PORT), username: pg.env.DB_USER, password: pg.env.DB_PASSWORD, database: name, logging: false };
  } else {
    process.env.DB_DIALECT = 'sqlite';
    const sqliteStorage = process.env.BENCH_DB_FILE ? path.join(storage, 'bench.sqlite') : ':memory:';
    database = { dialect: 'sqlite', storage: sqliteStorage, logging: false };
  }
  let app: any;
  try {
    app = await startNocoBase({ name: `mailbridge_bench_${Date.now()}`, database, plugins: options.plugins, mailPlugin: [BenchPluginMail, { name: PACKAGE }] });
  } catch (err) {
    stopPostgres?.();
    throw err;
  }
  const missing = (await checkIndexes(app.db)).filter((i) => !i.present);
  if (missing.length) {
    console.log(
      `note: ${missing.length} declared indexes are missing in ${dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'}: ` +
        missing.map((i) => `${i.table}(${i.fields.join(', ')})${i.unique ? ' UNIQUE' : ''}`).join(', '),
    );
    if (process.env.BENCH_RESTORE_INDEXES) {
      const created = await restoreIndexes(app.db);
      console.log(`note: BENCH_RESTORE_INDEXES=1 — created ${created.length} of them for this what-if run`);
    }
  }
  // server-side time of each request: from the request's arrival until NocoBase writes the response head
  const handle = app.callback();
  const server = http.createServer((req, res) => {
    const t0 = process.hrtime.bigint();
    const writeHead = res.writeHead;
    (res as any).writeHead = function (this: http.ServerResponse, ...args: any[]) {
      if (!this.headersSent) this.setHeader('X-Bench-Server-Ms', (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(3));
      return (writeHead as any).apply(this, args);
    };
    return handle(req, res);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const call: BenchApp['call'] = async (method, action, opts = {}) => {
    const qs = opts.params
      ? '?' + new URLSearchParams(Object.entries(opts.params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString()
      : '';
    const t0 = performance.now();
    const res = await fetch(`${url}/api/${action}${qs}`, {
      method,
      headers: {
        'Content-Type': 'application/json',
        'X-Authenticator': 'basic',
        ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
      },
      body: opts.values === undefined ? undefined : JSON.stringify(opts.values),
    });
    const text = await res.text();
    const ms = performance.now() - t0;
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, body, ms, serverMs: Number(res.headers.get('X-Bench-Server-Ms') ?? NaN) };
  };

  return {
    app,
    db: app.db,
    url,
    storage,
    dialect,
    mail: app.pm.get(PACKAGE).mail,
    call,
    async signIn(account = 'admin@nocobase.com', password = 'admin123') {
      const res = await call('POST', 'auth:signIn', { values: { account, password } });
      if (res.status !== 200) throw new Error(`sign-in failed: ${JSON.stringify(res.body)}`);
      return res.body.data.token;
    },
    async destroy() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      try {
        await app.destroy();
      } finally {
        stopPostgres?.();
        fs.rmSync(storage, { recursive: true, force: true });
      }
    },
  };
}
