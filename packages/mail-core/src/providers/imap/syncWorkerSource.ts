/**
 * An IMAP source whose listing and sync run in the sync worker thread (worker/): fetching and decoding 242 MB of
 * mail is CPU work that otherwise shares one thread, and one heap, with whatever stores it. All such sources of a
 * process share one worker. Downloads, appends, read state and IDLE stay on the calling thread (an ImapSource of
 * its own, opened when first needed).
 */
import { closedError } from '../../errors';
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
import { syncWorker as host, wireRuntime } from '../../worker/workerHost';
import { unpackBodies, type PackedBodies } from '../../worker/utf8Bodies';

export class SyncWorkerSource implements MailSource {
  private readonly id = host.newId();
  private closed = false;
  private local?: ImapSource;

  constructor(
    private readonly config: ImapConnectionConfig,
    readonly runtime: RuntimeOptions = {},
  ) {}

  private assertOpen() {
    if (this.closed) throw closedError('source');
  }

  private open() {
    this.assertOpen();
    host.ensureOpen(this.id, this, { op: 'openSource', ownerId: this.id, config: this.config, runtime: wireRuntime(this.runtime) });
  }

  async listFolders(): Promise<FolderInfo[]> {
    this.open();
    return host.call({ op: 'listFolders', id: host.newId(), ownerId: this.id });
  }

  async *syncFolder(folder: string, cursor: AnyFolderCursor | null, opts: SyncOptions = {}): AsyncGenerator<SyncBatch> {
    this.open();
    const { signal, knownIds: _knownIds, ...plain } = opts;
    const syncId = host.newId();
    host.post({ op: 'sync', syncId, ownerId: this.id, folder, cursor, opts: plain as Record<string, unknown> });
    const onAbort = () => host.post({ op: 'abort', callId: syncId });
    signal?.addEventListener('abort', onAbort);
    let finished = false;
    try {
      for (;;) {
        const step = await host.call<IteratorResult<SyncBatch> & { bodies?: PackedBodies }>({ op: 'next', id: host.newId(), syncId });
        if (step.done) {
          finished = true;
          return;
        }
        if (step.bodies) unpackBodies(step.value.added, step.bodies);
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
    await host.release(this.id);
  }
}
