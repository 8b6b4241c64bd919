import fs from 'fs';
import os from 'os';
import path from 'path';
import net from 'net';
import type { ChildProcess } from 'child_process';

// The host app of scripts/host, started for a test on a free port with its own throwaway storage.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const host = require('../../scripts/host/app');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { linkPlugin } = require('../../scripts/host/linkPlugin');

export interface HostApp {
  url: string;
  storage: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function startHostApp(): Promise<HostApp> {
  const root = path.resolve(__dirname, '..', '..');
  linkPlugin(root);
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbridge-host-'));
  const port = await freePort();
  const env = host.hostEnv({ storage, port });
  await host.prepareApp(env, () => undefined);
  const server: ChildProcess = host.startServer({ ...env }, { quiet: true });
  const url = `http://127.0.0.1:${port}`;
  await host.waitForApp(url, server, 120000);
  return {
    url,
    storage,
    env,
    async stop() {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        server.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
        if (server.exitCode === null) server.kill('SIGKILL');
      }
      fs.rmSync(storage, { recursive: true, force: true });
    },
  };
}

export async function signIn(url: string, account = 'admin@nocobase.com', password = 'admin123'): Promise<string> {
  const res = await fetch(`${url}/api/auth:signIn`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Authenticator': 'basic' },
    body: JSON.stringify({ account, password }),
  });
  const body: any = await res.json();
  if (!res.ok) throw new Error(`sign-in failed: ${JSON.stringify(body)}`);
  return body.data.token;
}

/** Calls the host app's API as a signed-in user; throws with the status and body on an error answer. */
export async function hostApi(app: HostApp, token: string, method: string, action: string, body?: unknown): Promise<any> {
  const res = await fetch(`${app.url}/api/${action}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json: any = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${action}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
