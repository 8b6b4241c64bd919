/** The folder cursor of the IMAP sync: how it starts, when it says "nothing changed", how it ends. */
import type { FolderCursor, SyncOptions } from '../../types';
import { countUidSet } from '../../util/uidSet';
import type { FolderStatus } from './imapCommands';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A cursor we cannot read is treated like a changed UIDVALIDITY: start over, cleanly. */
export function isUsableCursor(cursor: FolderCursor | null | undefined): cursor is FolderCursor {
  return (
    !!cursor &&
    cursor.v === 1 &&
    Number.isInteger(cursor.uidValidity) &&
    Number.isInteger(cursor.uidNext) &&
    typeof cursor.uids === 'string' &&
    (cursor.highestModseq === undefined || /^\d+$/.test(cursor.highestModseq))
  );
}

/** STATUS says nothing happened since the cursor was written. */
export function isUnchanged(cursor: FolderCursor, status: FolderStatus): boolean {
  if (cursor.windowSince !== undefined || cursor.messages === undefined) return false;
  if (cursor.uidValidity !== status.uidValidity || cursor.uidNext !== status.uidNext || cursor.messages !== status.messages) return false;
  if (status.highestModseq === undefined) return true; // no CONDSTORE: flag changes cannot be seen cheaply
  return cursor.highestModseq === status.highestModseq.toString();
}

export function initialCursor(status: FolderStatus, opts: SyncOptions, now = Date.now()): FolderCursor {
  const cursor: FolderCursor = { v: 1, uidValidity: status.uidValidity, uidNext: 1, uids: '' };
  if (status.highestModseq !== undefined) cursor.highestModseq = status.highestModseq.toString();
  if (opts.initialWindowDays && opts.initialWindowDays > 0) {
    cursor.windowSince = new Date(now - opts.initialWindowDays * DAY_MS).toISOString();
  }
  return cursor;
}

/** The cursor once every message below UIDNEXT (as of STATUS) is handled. */
export function completedCursor(cursor: FolderCursor, status: FolderStatus): FolderCursor {
  const done: FolderCursor = { ...cursor, uidNext: Math.max(cursor.uidNext, status.uidNext), messages: status.messages };
  delete done.windowSince;
  if (status.highestModseq !== undefined) done.highestModseq = status.highestModseq.toString();
  return done;
}

/** For diagnostics and the settings page: how many messages a cursor knows. */
export function knownMessageCount(cursor: FolderCursor): number {
  return countUidSet(cursor.uids);
}
