/**
 * A worker thread that runs engine work (engineWorker.ts) for the objects of the calling thread that own a part of
 * it ("owners": a sync source, a send transport). Started with the first call, restarted by the next call after
 * it died (each owner is opened in it again), stopped after the last owner is released. Never holds the process
 * open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { MailError } from '../errors';
import type { RuntimeOptions } from '../providers/accountConfig';
import { errorFromWire, errorToWire, type FromWorker, type ToWorker, type WireRuntime } from './workerProtocol';

/** How the worker is started: the compiled entry next to this file, or (running from TypeScript) the source via esbuild. */
function workerEntry(): { script: string; eval: boolean } {
  const compiled = path.join(__dirname, 'engineWorker.js');
  if (fs.existsSync(compiled)) return { script: compiled, eval: false };
  let source = path.join(__dirname, 'engineWorker.ts');
  if (!fs.existsSync(source)) {
    // bundled (the benches): find the package, prefer its sources
    const root = path.dirname(require.resolve('@mailbridge/mail-core/package.json'));
    source = path.join(root, 'src', 'worker', 'engineWorker.ts');
    const built = path.join(root, 'dist', 'worker', 'engineWorker.js');
    if (!fs.existsSync(source)) return { script: built, eval: false };
  }
  const esbuild = require.resolve('esbuild');
  const loader = `
    const fs = require('fs');
    const { transformSync } = require(${JSON.stringify(esbuild)});
    require.extensions['.ts'] = (module, filename) => {
      const { code } = transformSync(fs.readFileSync(filename, 'utf8'), { loader: 'ts', format: 'cjs', target: 'node20', sourcefile: filename });
      module._compile(code, filename);
    };
    require(${JSON.stringify(source)});`;
  return { script: loader, eval: true };
}

/** What the host needs of an owner: the runtime callbacks the worker may ask for. */
export interface WorkerOwner {
  readonly runtime: RuntimeOptions;
}

type Pending = { resolve: (value: any) => void; reject: (err: Error) => void };

export function wireRuntime(runtime: RuntimeOptions): WireRuntime {
  return { tokens: Boolean(runtime.accessTokenProvider), commands: Boolean(runtime.onImapCommand) };
}

export class WorkerHost {
  private worker?: Worker;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private readonly owners = new Map<number, WorkerOwner>();
  /** Owners open in the current worker; a new worker starts with none. */
  private readonly openInWorker = new Set<number>();

  /** `role` names the worker in errors: "sync", "send". */
  constructor(private readonly role: string) {}

  newId() {
    return this.nextId++;
  }

  /** Opens an owner in the worker (`open` is the message that does) unless it is open there already. */
  ensureOpen(ownerId: number, owner: WorkerOwner, open: ToWorker) {
    this.owners.set(ownerId, owner);
    if (this.worker && this.openInWorker.has(ownerId)) return;
    this.post(open);
    this.openInWorker.add(ownerId);
  }

  private start(): Worker {
    const entry = workerEntry();
    const worker = new Worker(entry.script, { eval: entry.eval });
    worker.unref();
    worker.on('message', (msg: FromWorker) => this.receive(msg));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.openInWorker.clear(); // the next call starts a worker in which each owner opens again
      this.fail(this.lostError(code));
    });
    return worker;
  }

  // A send in flight may or may not have gone out: it must not be retried on its own.
  private lostError(code: number) {
    const message = `The mail ${this.role} worker stopped (exit code ${code}).`;
    if (this.role !== 'send') return new MailError('CONNECTION_LOST', message);
    return new MailError('CONNECTION_LOST', message, {
      retryable: false,
      hint: 'Whether the mail went out is not known: check with the recipient before sending it again.',
    });
  }

  private fail(err: Error) {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }

  private receive(msg: FromWorker) {
    if (msg.type === 'result') {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p?.reject(errorFromWire(msg.error));
      else p?.resolve(msg.value);
      return;
    }
    const owner = this.owners.get(msg.ownerId);
    if (msg.type === 'command') return owner?.runtime.onImapCommand?.(msg.line);
    const provider = owner?.runtime.accessTokenProvider;
    const reply = (answer: { token?: string; error?: ReturnType<typeof errorToWire> }) => this.post({ op: 'token', id: msg.id, ...answer });
    if (!provider) return reply({ error: errorToWire(new Error('no access token provider')) });
    provider({ forceRefresh: msg.forceRefresh }).then(
      (token) => reply({ token }),
      (err) => reply({ error: errorToWire(err) }),
    );
  }

  post(msg: ToWorker) {
    this.worker ??= this.start();
    this.worker.postMessage(msg);
  }

  call<T>(msg: ToWorker & { id: number }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      try {
        this.post(msg);
      } catch (err) {
        this.pending.delete(msg.id);
        reject(err); // e.g. a DataCloneError: nothing reached the worker
      }
    });
  }

  /** Closes an owner in the worker (waits at most 5 s); the last one takes the worker with it. */
  async release(ownerId: number) {
    if (!this.owners.has(ownerId)) return;
    if (this.worker) {
      const closed = this.call({ op: 'close', id: this.newId(), ownerId }).catch(() => undefined);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000).unref())]);
    }
    this.owners.delete(ownerId);
    this.openInWorker.delete(ownerId);
    if (this.owners.size || !this.worker) return;
    const worker = this.worker;
    this.worker = undefined;
    await worker.terminate();
  }
}

/** The thread that lists and syncs the kept IMAP sources of all accounts. */
export const syncWorker = new WorkerHost('sync');
/** The thread that builds and sends the mail of the kept SMTP transports of all accounts. */
export const sendWorker = new WorkerHost('send');

