import type { Application } from '@nocobase/server';
import type { FolderInfo, MailSource, SyncBatch } from '@mailbridge/mail-core';
import type { AccountEngine } from '../accounts/accountEngine';
import { canReceive } from '../accounts/engineConfig';
import { noticeIfReconnectNeeded } from '../accounts/reconnectNotice';
import { accountErrorValues, NO_ACCOUNT_ERROR } from '../accounts/accountError';
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
/** The first batch of a folder's sync: its rows are stored while the rest of a full batch is fetched. */
export const FIRST_BATCH_SIZE = 100;

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

  /** Accounts this node is syncing right now: the lease keeps other nodes out, this keeps a second local run out. */
  private running = new Set<string>();
  private watchdogs = new Set<Watchdog>();
  private stopping = false;

  /** The app is stopping: running syncs end at their next step, with what they stored kept; nothing new starts. */
  async stopAll() {
    this.stopping = true;
    const stop = Object.assign(new Error('The app is stopping; the sync goes on after the restart.'), { code: 'ABORTED' });
    for (const watchdog of this.watchdogs) watchdog.abort(stop);
    const deadline = Date.now() + 15_000;
    while (this.running.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  /** After a stop, when the app starts again in the same process. */
  resume() {
    this.stopping = false;
  }

  async syncAccount(accountId: string, { reason = 'schedule' }: { reason?: string } = {}): Promise<SyncOutcome> {
    accountId = String(accountId);
    if (this.running.has(accountId) || this.stopping) return { ok: false, skipped: 'busy', folders: [] };
    this.running.add(accountId);
    try {
      return await this.syncLeased(accountId, reason);
    } finally {
      this.running.delete(accountId);
    }
  }

  private async syncLeased(accountId: string, reason: string): Promise<SyncOutcome> {
    const account = await this.app.db.getRepository('mailAccounts').findOne({ filterByTk: accountId });
    if (!account) return { ok: false, skipped: 'missing', folders: [] };
    if (!account.get('enabled')) return { ok: false, skipped: 'disabled', folders: [] };
    if (!canReceive(account.get('provider'))) return { ok: true, skipped: 'send-only', folders: [] };
    if (!(await this.lease.acquire(accountId))) return { ok: false, skipped: 'busy', folders: [] };

    const watchdog = new Watchdog(this.options.stallTimeoutMs);
    this.watchdogs.add(watchdog);
    // The lease is renewed on a timer, not per batch: it runs out only when this node is gone, never during a
    // slow batch. Should it be lost anyway (e.g. the database was unreachable), the sync stops.
    const heartbeat = setInterval(() => {
      this.lease.renew(accountId).then(
        (held) => held || watchdog.abort(Object.assign(new Error('Another node took over the sync of this account.'), { code: 'ABORTED' })),
        () => undefined,
      );
    }, Math.max(250, Math.floor(this.options.leaseTtlMs / 3)));
    heartbeat.unref?.();
    const run: FolderRun = { accountId, account, reason, watchdog, progress: null };
    const folders: FolderOutcome[] = [];
    let failed = true;
    try {
      const { source, folders: listFolders } = await watchdog.guard(this.engine.syncSource(account));
      const selected = foldersToSync(await watchdog.guard(listFolders()), account.get('settings')?.sync?.folders);
      const states = await this.folderStates(accountId);
      for (const folder of selected) {
        folders.push(await this.syncFolder(run, source, folder, states.get(folder.path)));
      }
      const now = new Date();
      await this.mark(accountId, {
        status: 'ok',
        lastSyncAt: now,
        lastSuccessAt: now,
        ...NO_ACCOUNT_ERROR,
        consecutiveFailures: 0,
        syncProgress: null,
      });
      failed = false;
      return { ok: true, folders };
    } catch (err: any) {
      const error = { code: err.code ?? 'PROVIDER_ERROR', message: err.message ?? String(err), hint: err.hint };
      if (this.stopping) {
        // not the account's failure: no error status, no backoff
        await this.mark(accountId, { syncProgress: null }).catch(() => undefined);
        return { ok: false, folders, error };
      }
      await noticeIfReconnectNeeded(this.app, accountId, err);
      await this.mark(accountId, {
        status: err.needsReconnect ? 'needs-reconnect' : 'error',
        lastSyncAt: new Date(),
        ...accountErrorValues(error),
        consecutiveFailures: (account.get('consecutiveFailures') ?? 0) + 1,
        syncProgress: null,
      }).catch(() => undefined);
      this.app.log.warn(`mail sync of account ${accountId} failed: ${error.code} ${error.message}`);
      return { ok: false, folders, error };
    } finally {
      clearInterval(heartbeat);
      watchdog.stop();
      this.watchdogs.delete(watchdog);
      // A healthy connection serves the next poll; after a failure the next one starts from a fresh login.
      if (failed) await this.engine.dropSyncSource(accountId);
      else this.engine.keepSyncSource(accountId);
      await this.lease.release(accountId);
    }
  }

  private async folderStates(accountId: string) {
    const rows = await this.app.db.getModel('mailSyncState').findAll({ where: { accountId } });
    return new Map<string, any>(rows.map((row: any) => [row.get('folder'), row]));
  }

  private async syncFolder(run: FolderRun, source: MailSource, folder: FolderInfo, state: any) {
    const { accountId, account, watchdog } = run;
    const outcome: FolderOutcome = { folder: folder.path, added: 0, changed: 0, deleted: 0 };
    const sync = account.get('settings')?.sync ?? {};
    const cursor = state?.get('cursor') ?? null;
    const batches = source.syncFolder(folder.path, cursor, {
      initialWindowDays: sync.initialWindowDays,
      batchSize: sync.batchSize,
      firstBatchSize: FIRST_BATCH_SIZE,
      signal: watchdog.signal,
      knownIds: (ids) => knownProviderIds(this.app.db, accountId, folder.path, ids),
    });
    const direction = folder.specialUse === 'sent' ? 'out' : 'in';
    let initial = !cursor;
    // IMAP fetches the next batch while this one is stored (the Graph source reads the database while paging).
    const pipelined = account.get('provider') === 'smtp-imap' ? readAhead(batches) : batches;
    for await (const batch of watchdog.iterate(pipelined)) {
      if (isNoChange(batch, cursor)) continue;
      initial ||= Boolean(batch.reset);
      if (!run.progress) await this.markSyncing(run);
      const stored = await storeBatch(this.app.db, accountId, folder.path, batch, direction);
      await this.events.messagesStored({ accountId, folder: folder.path, messageIds: stored.addedIds, rows: stored.addedRows, direction, initial, account });
      outcome.added += stored.added;
      outcome.changed += stored.changed;
      outcome.deleted += stored.deleted;
      await this.markSyncing(run, outcome);
    }
    const specialUse = folder.specialUse ?? null;
    if (state && state.get('specialUse') !== specialUse) await state.update({ specialUse });
    else if (!state) await this.app.db.getModel('mailSyncState').update({ specialUse }, { where: { accountId, folder: folder.path } });
    return outcome;
  }

  // The "syncing" badge appears once there is something to store: a poll without news writes nothing.
  private async markSyncing(run: FolderRun, outcome?: FolderOutcome) {
    run.progress = { state: 'syncing', reason: run.reason, startedAt: run.progress?.startedAt ?? new Date(), ...outcome };
    await this.mark(run.accountId, { syncProgress: run.progress });
  }
}

interface FolderRun {
  accountId: string;
  account: any;
  reason: string;
  watchdog: Watchdog;
  progress: Record<string, unknown> | null;
}

function isNoChange(batch: SyncBatch, cursor: unknown): boolean {
  if (batch.reset || batch.added.length || batch.changed.length || batch.deleted.length) return false;
  return cursor != null && JSON.stringify(batch.cursor) === JSON.stringify(cursor);
}

/** Pulls the next item while the consumer works on the current one; a consumer that stops lets the source end. */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  next.catch(() => undefined);
  let finished = false;
  try {
    for (;;) {
      const current = await next;
      if (current.done) {
        finished = true;
        return;
      }
      next = it.next();
      next.catch(() => undefined);
      yield current.value;
    }
  } finally {
    if (!finished) next.then(() => it.return?.(undefined), () => undefined);
  }
}
