/**
 * An IMAP source whose listing and sync run in a worker thread (syncWorker.ts): fetching and decoding 242 MB of
 * mail is CPU work that otherwise shares one thread, and one heap, with whatever stores it. All such sources of a
 * process share one worker, started with the first and stopped after the last closes. Downloads, appends, read
 * state and IDLE stay on the calling thread (an ImapSource of its own, opened when first needed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { MailError } from '../../errors';
import type {
  AnyFolderCursor,
  AppendResult,
  AppendTarget,
  DownloadedAttachment,
  FolderChangeListener,
  FolderInfo,
  MailSource,
  SyncBatch,
  SyncOptions,
} from '../../types';
import type { RuntimeOptions } from '../accountConfig';
import type { ImapConnectionConfig } from './imapConnection';
import { ImapSource } from './imapSource';
import { errorFromWire, errorToWire, type FromWorker, type ToWorker } from './workerProtocol';

/** How the worker is started: the compiled entry next to this file, or (running from TypeScript) the source via esbuild. */
function workerEntry(): { script: string; eval: boolean } {
  const compiled = path.join(__dirname, 'syncWorker.js');
  if (fs.existsSync(compiled)) return { script: compiled, eval: false };
  let source = path.join(__dirname, 'syncWorker.ts');
  if (!fs.existsSync(source)) {
    // bundled (the benches): find the package, prefer its sources
    const root = path.dirname(require.resolve('@mailbridge/mail-core/package.json'));
    source = path.join(root, 'src', 'providers', 'imap', 'syncWorker.ts');
    const built = path.join(root, 'dist', 'providers', 'imap', 'syncWorker.js');
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

type Pending = { resolve: (value: any) => void; reject: (err: Error) => void };

class SyncWorkerHost {
  private worker?: Worker;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  readonly sources = new Map<number, SyncWorkerSource>();

  newId() {
    return this.nextId++;
  }

  private start(): Worker {
    const entry = workerEntry();
    const worker = new Worker(entry.script, { eval: entry.eval });
    worker.unref(); // a kept sync source never holds the process open
    worker.on('message', (msg: FromWorker) => this.receive(msg));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      // a new worker starts with the next call; each source opens itself in it again
      for (const source of this.sources.values()) source.lostWorker();
      this.fail(new MailError('CONNECTION_LOST', `The mail sync worker stopped (exit code ${code}).`));
    });
    return worker;
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
    const source = this.sources.get(msg.sourceId);
    if (msg.type === 'command') return source?.runtime.onImapCommand?.(msg.line);
    const provider = source?.runtime.accessTokenProvider;
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
      this.post(msg);
    });
  }

  /** The last source closed: the worker goes. */
  async release(sourceId: number) {
    this.sources.delete(sourceId);
    if (this.sources.size || !this.worker) return;
    const worker = this.worker;
    this.worker = undefined;
    await worker.terminate();
  }
}

const host = new SyncWorkerHost();

export class SyncWorkerSource implements MailSource {
  private readonly id = host.newId();
  private opened = false;
  private closed = false;
  private local?: ImapSource;

  constructor(
    private readonly config: ImapConnectionConfig,
    readonly runtime: RuntimeOptions = {},
  ) {}

  lostWorker() {
    this.opened = false;
  }

  private assertOpen() {
    if (this.closed) throw new MailError('CONNECTION_LOST', 'The mail source is closed.', { retryable: false, hint: 'Open the account again.' });
  }

  private open() {
    this.assertOpen();
    if (this.opened) return;
    host.sources.set(this.id, this);
    host.post({ op: 'open', sourceId: this.id, config: this.config, runtime: { tokens: !!this.runtime.accessTokenProvider, commands: !!this.runtime.onImapCommand } });
    this.opened = true;
  }

  async listFolders(): Promise<FolderInfo[]> {
    this.open();
    return host.call({ op: 'listFolders', id: host.newId(), sourceId: this.id });
  }

  async *syncFolder(folder: string, cursor: AnyFolderCursor | null, opts: SyncOptions = {}): AsyncGenerator<SyncBatch> {
    this.open();
    const { signal, knownIds: _knownIds, ...plain } = opts;
    const syncId = host.newId();
    host.post({ op: 'sync', syncId, sourceId: this.id, folder, cursor, opts: plain as Record<string, unknown> });
    const onAbort = () => host.post({ op: 'abort', syncId });
    signal?.addEventListener('abort', onAbort);
    let finished = false;
    try {
      for (;;) {
        const step = await host.call<IteratorResult<SyncBatch>>({ op: 'next', id: host.newId(), syncId });
        if (step.done) {
          finished = true;
          return;
        }
        yield step.value;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!finished) host.call({ op: 'end', id: host.newId(), syncId }).catch(() => undefined);
    }
  }

  private localSource(): ImapSource {
    this.assertOpen();
    return (this.local ??= new ImapSource(this.config, this.runtime));
  }

  downloadAttachment(folder: string, providerId: string, partId: string): Promise<DownloadedAttachment> {
    return this.localSource().downloadAttachment(folder, providerId, partId);
  }

  appendToFolder(target: AppendTarget, raw: Buffer, flags?: string[]): Promise<AppendResult> {
    return this.localSource().appendToFolder(target, raw, flags);
  }

  setSeen(folder: string, providerId: string, seen: boolean): Promise<void> {
    return this.localSource().setSeen(folder, providerId, seen);
  }

  watch(folder: string, onChange: FolderChangeListener): Promise<() => Promise<void>> {
    return this.localSource().watch(folder, onChange);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.local?.close().catch(() => undefined);
    if (!this.opened) return;
    await Promise.race([host.call({ op: 'close', id: host.newId(), sourceId: this.id }).catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]);
    await host.release(this.id);
  }
}
