import fs from 'fs';
import os from 'os';
import path from 'path';
import http from 'http';
import type { AddressInfo } from 'net';
import { PACKAGE, setNocoBaseEnv, startNocoBase } from './nocobaseBoot';

// Boots a real NocoBase 2.2 application with our plugin on SQLite in memory (one per test file), the way the
// host app does, but in-process: plugins given as classes with their package name so collections auto-load
// from src/server/collections (jest maps the package name to src, see jest.config.js).
const ROOT = path.resolve(__dirname, '..', '..');

export interface TestApp {
  app: any;
  db: any;
  url: string;
  storage: string;
  agent(token?: string): ApiAgent;
  signIn(account?: string, password?: string): Promise<string>;
  destroy(): Promise<void>;
}

export interface ApiResult {
  status: number;
  body: any;
  text: string;
}

export interface ApiAgent {
  get(action: string, params?: Record<string, unknown>): Promise<ApiResult>;
  post(action: string, values?: unknown, params?: Record<string, unknown>): Promise<ApiResult>;
}

function prepareEnv(storage: string) {
  setNocoBaseEnv(ROOT, storage, 'mailbridge-test-key');
  process.env.DB_DIALECT = process.env.DB_DIALECT || 'sqlite';
}

// On PostgreSQL every test app gets a database of its own (test files run in parallel), dropped afterwards.
async function withPostgresDatabase(name: string, sql: string) {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { Client } = require('pg');
  const client = new Client({
    host: process.env.DB_HOST,
    port: Number(process.env.DB_PORT),
    user: process.env.DB_USER,
    password: process.env.DB_PASSWORD,
    database: 'postgres',
  });
  await client.connect();
  try {
    await client.query(sql.replace('$db', `"${name}"`));
  } finally {
    await client.end();
  }
}

export async function createTestApp(options: { plugins?: any[] } = {}): Promise<TestApp> {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbridge-server-'));
  prepareEnv(storage);
  const pgDatabase = `mailbridge_test_${process.pid}_${Date.now()}`;
  if (process.env.DB_DIALECT === 'postgres') await withPostgresDatabase(pgDatabase, 'CREATE DATABASE $db');
  // Loaded after the environment is set: NocoBase reads it at import time.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { default: PluginMailServer } = require('../../src/server');
  const database =
    process.env.DB_DIALECT === 'sqlite'
      ? { dialect: 'sqlite', storage: ':memory:', logging: false }
      : {
          dialect: process.env.DB_DIALECT,
          host: process.env.DB_HOST,
          port: Number(process.env.DB_PORT),
          username: process.env.DB_USER,
          password: process.env.DB_PASSWORD,
          database: pgDatabase,
          logging: false,
        };
  const app = await startNocoBase({ name: `mailbridge_${Date.now()}`, database, plugins: options.plugins, mailPlugin: [PluginMailServer, { name: PACKAGE, packageName: PACKAGE }] });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const call = async (method: string, action: string, token?: string, params?: Record<string, unknown>, values?: unknown) => {
    const qs = params ? '?' + new URLSearchParams(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString() : '';
    const res = await fetch(`${url}/api/${action}${qs}`, {
      method,
      headers: {
        'Content-Type': 'application/json',
        'X-Authenticator': 'basic',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: values === undefined ? undefined : JSON.stringify(values),
    });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text };
  };

  return {
    app,
    db: app.db,
    url,
    storage,
    agent: (token?: string) => ({
      get: (action, params) => call('GET', action, token, params),
      post: (action, values, params) => call('POST', action, token, params, values ?? {}),
    }),
    async signIn(account = 'admin@nocobase.com', password = 'admin123') {
      const res = await call('POST', 'auth:signIn', undefined, undefined, { account, password });
      if (res.status !== 200) throw new Error(`sign-in failed: ${res.text}`);
      return res.body.data.token;
    },
    async destroy() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await app.destroy();
      if (process.env.DB_DIALECT === 'postgres') await withPostgresDatabase(pgDatabase, 'DROP DATABASE IF EXISTS $db WITH (FORCE)');
      fs.rmSync(storage, { recursive: true, force: true });
    },
  };
}
