import fs from 'fs';
import os from 'os';
import path from 'path';
import http from 'http';
import type { AddressInfo } from 'net';
import { PluginMailServer } from '../../src/server/plugin';

// Boots NocoBase 2.2 in-process with Mailbridge from src/ (bundled by bench/run.js), on SQLite in memory unless
// BENCH_DB_FILE=1 (then a file in the temp storage dir). NocoBase would look for the plugin's collections in the
// built package (dist/); the bench defines them from src/server/collections instead, so it measures the code as
// it is in the working tree.
export const ROOT = process.env.BENCH_ROOT || path.resolve(__dirname, '..', '..');
export const PACKAGE = '@mailbridge/plugin-mail';

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

/** The indexes our collections declare, and whether SQLite really has them. */
export async function checkIndexes(db: any): Promise<IndexCheck[]> {
  const out: IndexCheck[] = [];
  const present = new Set(
    (await db.sequelize.query("SELECT name FROM sqlite_master WHERE type = 'index'", { type: 'SELECT' })).map((r: any) => r.name),
  );
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
    const cols = index.fields.map((f) => `\`${f}\``).join(', ');
    await db.sequelize.query(`CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS \`${index.name}\` ON \`${index.table}\` (${cols})`);
    created.push(`${index.table}(${index.fields.join(', ')})`);
  }
  return created;
}

export interface BenchApp {
  app: any;
  db: any;
  url: string;
  storage: string;
  /** The plugin's services: sync, outbox, engine … */
  mail: any;
  call(method: 'GET' | 'POST', action: string, opts?: { token?: string; params?: Record<string, unknown>; values?: unknown }): Promise<{ status: number; body: any; ms: number; serverMs: number }>;
  signIn(account?: string, password?: string): Promise<string>;
  destroy(): Promise<void>;
}

export async function bootApp(options: { plugins?: any[] } = {}): Promise<BenchApp> {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbridge-bench-'));
  process.env.NODE_MODULES_PATH = path.join(ROOT, 'node_modules');
  process.env.STORAGE_PATH = storage;
  process.env.PLUGIN_STORAGE_PATH = path.join(storage, 'plugins');
  process.env.LOGGER_BASE_PATH = path.join(storage, 'logs');
  process.env.APP_ENV = process.env.APP_ENV || 'test';
  process.env.APP_KEY = process.env.APP_KEY || 'mailbridge-bench-key';
  process.env.INIT_ROOT_EMAIL = 'admin@nocobase.com';
  process.env.INIT_ROOT_PASSWORD = 'admin123';
  process.env.LOGGER_LEVEL = process.env.LOGGER_LEVEL || 'error';
  process.env.DB_DIALECT = 'sqlite';
  process.env.MAILBRIDGE_BACKGROUND = 'off';
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { Application } = require('@nocobase/server');
  const sqliteStorage = process.env.BENCH_DB_FILE ? path.join(storage, 'bench.sqlite') : ':memory:';
  const app = new Application({
    name: `mailbridge_bench_${Date.now()}`,
    database: { dialect: 'sqlite', storage: sqliteStorage, logging: false },
    resourcer: { prefix: '/api' },
    acl: true,
    plugins: [
      'field-sort',
      ...(options.plugins ?? []),
      'users',
      'auth',
      'acl',
      'data-source-manager',
      'system-settings',
      [BenchPluginMail, { name: PACKAGE }],
    ],
  });
  await app.runCommandThrowError('install', '-f');
  await app.runCommandThrowError('start');
  const missing = (await checkIndexes(app.db)).filter((i) => !i.present);
  if (missing.length) {
    console.log(
      `note: ${missing.length} declared indexes are missing in SQLite: ` +
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
      await app.destroy();
      fs.rmSync(storage, { recursive: true, force: true });
    },
  };
}
