import type { Application } from '@nocobase/server';
import type { FolderInfo, MailSource } from '@mailbridge/mail-core';
import type { AccountEngine } from '../accounts/accountEngine';
import { canReceive } from '../accounts/engineConfig';
import { noticeIfReconnectNeeded } from '../accounts/reconnectNotice';
import { SyncLease } from './syncLease';
import { knownProviderIds, storeBatch } from './messageStore';
import { Watchdog } from './watchdog';
import type { MailEvents } from '../mailEvents';

export interface FolderOutcome {
  folder: string;
  added: number;
  changed: number;
  deleted: number;
}

export interface SyncOutcome {
  ok: boolean;
  skipped?: 'busy' | 'disabled' | 'send-only' | 'missing';
  folders: FolderOutcome[];
  error?: { code: string; message: string; hint?: string };
}

export interface SyncServiceOptions {
  leaseTtlMs: number;
  /** A sync that makes no progress for this long is aborted (and retried by the scheduler). */
  stallTimeoutMs: number;
}

const DEFAULT_FOLDERS = ['inbox', 'sent'];

export function foldersToSync(all: FolderInfo[], configured?: string[]): FolderInfo[] {
  if (configured && configured.length) return all.filter((f) => configured.includes(f.path));
  return all.filter((f) => f.specialUse && DEFAULT_FOLDERS.includes(f.specialUse));
}

// Syncs every selected folder of one account. The account row tells the truth afterwards: status, last success,
// consecutive failures and the error with its hint; a failed sync keeps the cursors of what was stored.
export class SyncService {
  readonly lease: SyncLease;

  constructor(
    private app: Application,
    private engine: AccountEngine,
    private events: MailEvents,
    private options: SyncServiceOptions,
  ) {
    this.lease = new SyncLease(app.db, options.leaseTtlMs);
  }

  private get accounts() {
    return this.app.db.getModel('mailAccounts');
  }

  private async mark(accountId: string, values: Record<string, unknown>) {
    await this.accounts.update(values, { where: { id: accountId }, hooks: false, silent: true });
  }

  async syncAccount(accountId: string, { reason = 'schedule' }: { reason?: string } = {}): Promise<SyncOutcome> {
    const account = await this.app.db.getRepository('mailAccounts').findOne({ filterByTk: accountId });
    if (!account) return { ok: false, skipped: 'missing', folders: [] };
    if (!account.get('enabled')) return { ok: false, skipped: 'disabled', folders: [] };
    if (!canReceive(account.get('provider'))) return { ok: true, skipped: 'send-only', folders: [] };
    if (!(await this.lease.acquire(accountId))) return { ok: false, skipped: 'busy', folders: [] };

    const watchdog = new Watchdog(this.options.stallTimeoutMs);
    // The lease is renewed on a timer, not per batch: it runs out only when this node is gone, never during a
    // slow batch. Should it be lost anyway (e.g. the database was unreachable), the sync stops.
    const heartbeat = setInterval(() => {
      this.lease.renew(accountId).then(
        (held) => held || watchdog.abort(Object.assign(new Error('Another node took over the sync of this account.'), { code: 'ABORTED' })),
        () => undefined,
      );
    }, Math.max(250, Math.floor(this.options.leaseTtlMs / 3)));
    heartbeat.unref?.();
    const folders: FolderOutcome[] = [];
    let source: MailSource | undefined;
    try {
      await this.mark(accountId, { syncProgress: { state: 'syncing', reason, startedAt: new Date() } });
      source = await watchdog.guard(this.engine.source(account));
      const selected = foldersToSync(await watchdog.guard(source.listFolders()), account.get('settings')?.sync?.folders);
      for (const folder of selected) {
        folders.push(await this.syncFolder(accountId, account, source, folder, watchdog));
      }
      const now = new Date();
      await this.mark(accountId, {
        status: 'ok',
        lastSyncAt: now,
        lastSuccessAt: now,
        lastError: null,
        consecutiveFailures: 0,
      });
      return { ok: true, folders };
    } catch (err: any) {
      const error = { code: err.code ?? 'PROVIDER_ERROR', message: err.message ?? String(err), hint: err.hint };
      await noticeIfReconnectNeeded(this.app, accountId, err);
      await this.mark(accountId, {
        status: err.needsReconnect ? 'needs-reconnect' : 'error',
        lastSyncAt: new Date(),
        lastError: [error.message, error.hint].filter(Boolean).join(' — '),
        consecutiveFailures: (account.get('consecutiveFailures') ?? 0) + 1,
      });
      this.app.log.warn(`mail sync of account ${accountId} failed: ${error.code} ${error.message}`);
      return { ok: false, folders, error };
    } finally {
      clearInterval(heartbeat);
      watchdog.stop();
      await source?.close().catch(() => undefined);
      await this.mark(accountId, { syncProgress: null });
      await this.lease.release(accountId);
    }
  }

  private async syncFolder(accountId: string, account: any, source: MailSource, folder: FolderInfo, watchdog: Watchdog) {
    const State = this.app.db.getModel('mailSyncState');
    const state = await State.findOne({ where: { accountId, folder: folder.path } });
    const outcome: FolderOutcome = { folder: folder.path, added: 0, changed: 0, deleted: 0 };
    const sync = account.get('settings')?.sync ?? {};
    const cursor = state?.get('cursor') ?? null;
    const batches = source.syncFolder(folder.path, cursor, {
      initialWindowDays: sync.initialWindowDays,
      batchSize: sync.batchSize,
      signal: watchdog.signal,
      knownIds: (ids) => knownProviderIds(this.app.db, accountId, folder.path, ids),
    });
    const direction = folder.specialUse === 'sent' ? 'out' : 'in';
    let initial = !cursor;
    for await (const batch of watchdog.iterate(batches)) {
      initial ||= Boolean(batch.reset);
      const stored = await storeBatch(this.app.db, accountId, folder.path, batch, direction);
      await this.events.messagesStored({ accountId, folder: folder.path, messageIds: stored.addedIds, direction, initial });
      outcome.added += stored.added;
      outcome.changed += stored.changed;
      outcome.deleted += stored.deleted;
      await this.lease.renew(accountId);
      await this.mark(accountId, { syncProgress: { state: 'syncing', ...outcome } });
    }
    await State.update({ specialUse: folder.specialUse ?? null }, { where: { accountId, folder: folder.path } });
    return outcome;
  }
}
