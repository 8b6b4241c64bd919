// The SMTP sink of the send benches in a process of its own, as a real SMTP server is: its parsing and answering
// then neither share the thread nor wait for the event loop of the sender it measures (raw nodemailer or ours).
import { fork } from 'child_process';
import path from 'path';
import type { MailUser } from '@mailbridge/mail-testkit';

export interface SinkProcess {
  host: string;
  port: number;
  /** mails the sink has accepted so far */
  count(): Promise<number>;
  close(): Promise<void>;
}

const ROOT = process.env.BENCH_ROOT ?? path.resolve(__dirname, '..', '..');

// runs the testkit from its TypeScript sources, as the benches and jest do
const CHILD = `
  const fs = require('fs');
  const { transformSync } = require('esbuild');
  require.extensions['.ts'] = (module, filename) => {
    const { code } = transformSync(fs.readFileSync(filename, 'utf8'), { loader: 'ts', format: 'cjs', target: 'node20', sourcefile: filename });
    module._compile(code, filename);
  };
  const { startSmtpSink } = require(${JSON.stringify(path.join(ROOT, 'packages/mail-testkit/src/index.ts'))});
  process.on('disconnect', () => { console.error('[sink] the bench disconnected'); process.exit(0); }); // the bench is gone
  startSmtpSink({ users: JSON.parse(process.env.SINK_USERS) }).then((sink) => {
    process.send({ type: 'ready', host: sink.host, port: sink.port });
    process.on('message', (m) => {
      if (m.type === 'count') process.send({ type: 'count', id: m.id, count: sink.received.length });
      if (m.type === 'close') sink.close().then(() => process.exit(0));
    });
  });`;

export function startSinkProcess(users: MailUser[]): Promise<SinkProcess> {
  const child = fork('-e', [CHILD], { cwd: ROOT, execArgv: [], env: { ...process.env, SINK_USERS: JSON.stringify(users) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const stopChild = () => child.kill('SIGKILL');
  process.once('exit', stopChild);
  return new Promise((resolve, reject) => {
    const notReady = setTimeout(() => {
      stopChild();
      reject(new Error('SMTP sink process: not ready after 30 s'));
    }, 30_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`SMTP sink process exited (${code})`)));
    const counts = new Map<number, (n: number) => void>();
    let nextId = 1;
    child.on('message', (m: any) => {
      if (m.type === 'count') {
        counts.get(m.id)?.(m.count);
        counts.delete(m.id);
      }
      if (m.type !== 'ready') return;
      clearTimeout(notReady);
      child.removeAllListeners('exit');
      child.once('exit', (code, signal) => console.error(`[bench] the SMTP sink process ended early (${code ?? signal})`));
      resolve({
        host: m.host,
        port: m.port,
        count: () =>
          new Promise((done) => {
            const id = nextId++;
            counts.set(id, done);
            child.send({ type: 'count', id });
          }),
        close: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.removeAllListeners('exit');
            child.once('exit', () => {
              process.off('exit', stopChild);
              done();
            });
            child.send({ type: 'close' });
            setTimeout(stopChild, 5_000).unref();
          }),
      });
    });
  });
}
