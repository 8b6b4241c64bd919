import { closedError, MailError, toMailError, type MailErrorContext } from '../../errors';
import type {
  AppendResult,
  AppendTarget,
  DownloadedAttachment,
  FolderChangeListener,
  FolderCursor,
  FolderInfo,
  MailSource,
  SyncBatch,
} from '../../types';
import type { RuntimeOptions } from '../accountConfig';
import { downloadAttachmentPart } from './imapAttachments';
import { imapErrorContext, openImapConnection, type ImapConnection, type ImapConnectionConfig } from './imapConnection';
import { listFolders, resolveFolder } from './imapFolders';
import { syncImapFolder, type ImapSyncOptions } from './imapSync';
import { watchFolder } from './imapWatch';

/**
 * MailSource over IMAP. One connection for sync, listing, append and downloads (opened lazily,
 * reopened when it dropped), one more per watched folder.
 */
export class ImapSource implements MailSource {
  private connecting?: Promise<ImapConnection>;
  private readonly watchers = new Set<() => Promise<void>>();
  private closed = false;

  constructor(
    private readonly config: ImapConnectionConfig,
    private readonly runtime: RuntimeOptions = {},
  ) {}

  private context(extra: Partial<MailErrorContext>): MailErrorContext {
    return imapErrorContext(this.config, extra);
  }

  private async connection(): Promise<ImapConnection> {
    if (this.closed) throw closedError('source');
    if (this.connecting) {
      const current = await this.connecting.catch(() => undefined);
      if (current && current.client.usable) return current;
      current?.client.close();
    }
    this.connecting = openImapConnection(this.config, this.runtime);
    try {
      return await this.connecting;
    } catch (err) {
      this.connecting = undefined;
      throw err;
    }
  }

  /** Maps an error; when the connection is gone, the socket error that ended it is the real cause. */
  private fail(err: unknown, conn: ImapConnection | undefined, extra: Partial<MailErrorContext>): MailError {
    if (err instanceof MailError) return err;
    const cause = conn && !conn.client.usable ? conn.lastError() ?? err : err;
    const mapped = toMailError(cause, this.context(extra));
    if (conn && !conn.client.usable && mapped.code === 'PROVIDER_ERROR') {
      return new MailError('CONNECTION_LOST', mapped.message, { cause: err, context: mapped.context });
    }
    return mapped;
  }

  private async run<T>(extra: Partial<MailErrorContext>, work: (conn: ImapConnection) => Promise<T>): Promise<T> {
    const conn = await this.connection();
    try {
      return await work(conn);
    } catch (err) {
      throw this.fail(err, conn, extra);
    }
  }

  listFolders(): Promise<FolderInfo[]> {
    return this.run({ operation: 'list' }, ({ client }) => listFolders(client));
  }

  async *syncFolder(folder: string, cursor: FolderCursor | null, opts: ImapSyncOptions = {}): AsyncGenerator<SyncBatch> {
    let conn = await this.connection();
    const handle = {
      get client() {
        return conn.client;
      },
      reconnect: async () => {
        conn = await this.connection();
        return conn.client;
      },
    };
    try {
      yield* syncImapFolder(handle, folder, cursor, opts);
    } catch (err) {
      throw this.fail(err, conn, { operation: 'sync', folder });
    }
  }

  downloadAttachment(folder: string, providerId: string, partId: string): Promise<DownloadedAttachment> {
    const context = this.context({ operation: 'download', folder });
    return this.run({ operation: 'download', folder }, ({ client }) => downloadAttachmentPart(client, folder, providerId, partId, context));
  }

  appendToFolder(target: AppendTarget, raw: Buffer, flags: string[] = ['\\Seen']): Promise<AppendResult> {
    const folder = typeof target === 'object' ? target.path : target;
    return this.run({ operation: 'append', folder }, async ({ client }) => {
      const path = await resolveFolder(client, target);
      const result = await client.append(path, raw, flags);
      if (!result) throw new MailError('PROVIDER_ERROR', `The server refused to store the message in "${path}".`, { retryable: true });
      return { path: result.destination || path, ...(result.uid ? { providerId: String(result.uid) } : {}) };
    });
  }

  setSeen(folder: string, providerId: string, seen: boolean): Promise<void> {
    return this.run({ operation: 'flags', folder }, async ({ client }) => {
      const lock = await client.getMailboxLock(folder);
      try {
        const uid = { uid: true };
        const ok = seen ? await client.messageFlagsAdd(providerId, ['\\Seen'], uid) : await client.messageFlagsRemove(providerId, ['\\Seen'], uid);
        if (!ok) throw new MailError('PROVIDER_ERROR', `The server refused to change the flags of message ${providerId} in "${folder}".`, { retryable: true });
      } finally {
        lock.release();
      }
    });
  }

  async watch(folder: string, onChange: FolderChangeListener): Promise<() => Promise<void>> {
    let stop: () => Promise<void>;
    try {
      stop = await watchFolder(this.config, this.runtime, folder, onChange);
    } catch (err) {
      throw toMailError(err, this.context({ operation: 'watch', folder }));
    }
    const unwatch = async () => {
      this.watchers.delete(unwatch);
      await stop();
    };
    this.watchers.add(unwatch);
    return unwatch;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.watchers].map((stop) => stop().catch(() => undefined)));
    const pending = this.connecting;
    this.connecting = undefined;
    const conn = await pending?.catch(() => undefined);
    if (conn) await conn.client.logout().catch(() => conn.client.close());
  }
}
