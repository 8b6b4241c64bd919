/**
 * The incremental sync of one IMAP folder. Decides what to ask for from the cursor and STATUS;
 * the commands themselves are in imapCommands.ts, the decoding in imapParse.ts.
 *
 *  1. STATUS. Same UIDVALIDITY, UIDNEXT, MESSAGES and HIGHESTMODSEQ as the cursor: done, one
 *     round trip, no SELECT.
 *  2. UIDVALIDITY differs from the cursor: a batch with `reset`, then an initial sync.
 *  3. Known messages: flag changes by CHANGEDSINCE; deletions by QRESYNC VANISHED (EARLIER), or
 *     without QRESYNC by diffing UID SEARCH ALL against the UID set in the cursor.
 *  4. New messages: UID SEARCH UID uidNext:* [SINCE window], fetched in batches, oldest first.
 *
 * Every batch's cursor covers exactly what the batch and the ones before it reported, so a caller
 * that persists it after storing the batch can crash anywhere without skipping or doubling mail.
 */
import { EventEmitter } from 'node:events';
import type { FetchMessageObject, ImapFlow } from 'imapflow';
import { MailError } from '../../errors';
import type { FolderCursor, SyncBatch, SyncedMessage, SyncOptions } from '../../types';
import { expandUidSet, uidSetContains, uidSetMinus, uidSetUnion } from '../../util/uidSet';
import { fetchChangesSince, fetchEnvelopeOf, readFolderStatus, searchAllUids, searchUidsFrom, supportsCondstore } from './imapCommands';
import { completedCursor, initialCursor, isUnchanged, isUsableCursor } from './imapCursor';
import { fetchNewMessages, type FetchLimits } from './imapFetchMessages';
import { FolderSession, serverRefusedFetch, unselect, type ImapClientHandle } from './imapFolderSession';
import { envelopeFields } from './imapParse';

export const DEFAULT_BATCH_SIZE = 500;

export interface ImapSyncOptions extends SyncOptions, FetchLimits {}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MailError('ABORTED', 'The sync was cancelled.');
}

/** Runs of `size`, the first one of `first` when that is smaller. */
function chunks<T>(items: T[], size: number, first = size): T[][] {
  const out: T[][] = [];
  const head = Math.max(1, Math.min(first, size));
  if (head < size && items.length > head) out.push(items.slice(0, head));
  for (let i = out.length ? head : 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

interface KnownChanges {
  changed: Array<{ providerId: string; flags: string[] }>;
  deleted: number[];
}

/** Flag changes and deletions among the UIDs the cursor knows. */
async function changesOfKnown(session: FolderSession, cursor: FolderCursor, vanishedMeanwhile: number[]): Promise<KnownChanges> {
  if (!cursor.uids) return { changed: [], deleted: [] };
  const known = uidSetContains(cursor.uids);
  return session.locked(async (client) => {
    let changedRows: Array<{ uid: number; flags: string[] }> = [];
    let vanished: number[] | null = null;
    if (cursor.highestModseq && supportsCondstore(client)) {
      const since = await fetchChangesSince(client, session.path, BigInt(cursor.highestModseq));
      changedRows = since.changed;
      vanished = since.vanished;
    }
    let deleted: number[];
    if (vanished) {
      deleted = [...new Set([...vanished, ...vanishedMeanwhile])].filter(known);
    } else {
      const present = new Set(await searchAllUids(client));
      deleted = expandUidSet(cursor.uids).filter((uid) => !present.has(uid));
    }
    const gone = new Set(deleted);
    const changed = changedRows
      .filter((row) => known(row.uid) && !gone.has(row.uid))
      .map((row) => ({ providerId: String(row.uid), flags: row.flags }));
    return { changed, deleted: deleted.sort((a, b) => a - b) };
  });
}

function unreadable(folder: string, uid: number, reason: string, meta?: FetchMessageObject): SyncedMessage {
  return { ...envelopeFields(folder, meta ?? { uid, seq: 0 }), parseError: `The server could not read this message: ${reason}` };
}

/**
 * One message at a time, after the server dropped the session over a chunk: the messages it can
 * read come through, the one it cannot becomes a row with parseError (envelope if the server
 * still gives that), and the sync goes on.
 */
async function isolateUnreadable(session: FolderSession, uids: number[], limits: FetchLimits): Promise<SyncedMessage[]> {
  const out: SyncedMessage[] = [];
  for (const uid of uids) {
    try {
      out.push(...(await session.locked((c) => fetchNewMessages(c, session.path, [uid], limits))));
    } catch (err) {
      if (!serverRefusedFetch(session.client)) throw err;
      const reason = session.client.byeReason ?? String((err as Error).message);
      await session.reconnect();
      let meta: FetchMessageObject | undefined;
      try {
        meta = (await session.locked((c) => fetchEnvelopeOf(c, uid))) || undefined;
      } catch (envelopeErr) {
        if (!serverRefusedFetch(session.client)) throw envelopeErr;
        await session.reconnect();
      }
      out.push(unreadable(session.path, uid, reason, meta));
    }
  }
  return out;
}

async function fetchChunk(session: FolderSession, uids: number[], limits: FetchLimits, last: boolean): Promise<SyncedMessage[]> {
  try {
    return await session.locked((c) => fetchNewMessages(c, session.path, uids, limits), { closeAfter: last });
  } catch (err) {
    if (!session.canReconnect || !serverRefusedFetch(session.client)) throw err;
    await session.reconnect();
    const added = await isolateUnreadable(session, uids, limits);
    if (last) await session.locked(async (c) => void (await c.mailboxClose()));
    return added;
  }
}

/**
 * Syncs `folder` from `cursor` on a connected client. Yields at least one batch; the last batch's
 * cursor is the folder's new state. Errors are thrown as they come (the facade maps them).
 */
export async function* syncImapFolder(connection: ImapFlow | ImapClientHandle, folder: string, cursor: FolderCursor | null, opts: ImapSyncOptions = {}): AsyncGenerator<SyncBatch> {
  const handle: ImapClientHandle = connection instanceof EventEmitter ? { client: connection as ImapFlow } : connection;
  const batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE);
  // expunges the server announces on its own (QRESYNC: VANISHED) while this sync runs
  const vanishedMeanwhile: number[] = [];
  const onExpunge = (event: { path: string; uid?: number; vanished: boolean }) => {
    if (event.vanished && event.uid && event.path === folder) vanishedMeanwhile.push(event.uid);
  };
  const client = handle.client;
  // listening from the start: an unselect below may carry the server's VANISHED for this folder
  const session = new FolderSession(handle, folder, onExpunge);
  try {
    throwIfAborted(opts.signal);
    if (client.mailbox && client.mailbox.path === folder) await unselect(client, folder);
    const status = await readFolderStatus(client, folder);
    const usable = isUsableCursor(cursor) ? cursor : null;

    if (usable && usable.uidValidity === status.uidValidity && isUnchanged(usable, status)) {
      yield { added: [], changed: [], deleted: [], cursor: usable };
      return;
    }

    let state: FolderCursor;
    let pending: Omit<SyncBatch, 'added' | 'cursor'> = { changed: [], deleted: [] };
    session.uidValidity = status.uidValidity;

    if (!usable || usable.uidValidity !== status.uidValidity) {
      state = initialCursor(status, opts);
      if (cursor) {
        // the caller drops the folder's rows on this batch; persisting its cursor restarts cleanly
        yield { added: [], changed: [], deleted: [], cursor: state, reset: true };
      }
    } else {
      throwIfAborted(opts.signal);
      const known = await changesOfKnown(session, usable, vanishedMeanwhile);
      state = { ...usable, uids: known.deleted.length ? uidSetMinus(usable.uids, known.deleted) : usable.uids };
      if (status.highestModseq !== undefined) state.highestModseq = status.highestModseq.toString();
      pending = { changed: known.changed, deleted: known.deleted.map(String) };
    }

    throwIfAborted(opts.signal);
    const since = state.windowSince ? new Date(state.windowSince) : undefined;
    const newUids = await session.locked(async (c) => {
      const found = await searchUidsFrom(c, Math.max(1, state.uidNext), since);
      if (!found.length) await c.mailboxClose();
      return found;
    });
    const parts = chunks(newUids, batchSize, opts.firstBatchSize);

    for (let i = 0; i < parts.length; i++) {
      throwIfAborted(opts.signal);
      const uids = parts[i];
      const last = i === parts.length - 1;
      const added = await fetchChunk(session, uids, opts, last);
      state = { ...state, uids: uidSetUnion(state.uids, uids), uidNext: uids[uids.length - 1] + 1 };
      if (i === parts.length - 1) state = completedCursor(state, status);
      yield { added, ...pending, cursor: state };
      pending = { changed: [], deleted: [] };
    }
    if (!parts.length) {
      yield { added: [], ...pending, cursor: completedCursor(state, status) };
    }
  } finally {
    session.detach();
  }
}

