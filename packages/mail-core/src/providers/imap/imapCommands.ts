/**
 * The IMAP commands the sync needs, each a plain async function of a connected ImapFlow client.
 * No sync decisions here; imapSync.ts decides what to ask for.
 */
import type { FetchMessageObject, FetchQueryObject, ImapFlow } from 'imapflow';
import { HEADER_FIELDS } from './imapParse';
import { compactUidSet } from '../../util/uidSet';

export interface FolderStatus {
  path: string;
  messages: number;
  uidNext: number;
  uidValidity: number;
  /** Absent when the server has no CONDSTORE. */
  highestModseq?: bigint;
}

/** STATUS (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ): one round trip, no SELECT. */
export async function readFolderStatus(client: ImapFlow, path: string): Promise<FolderStatus> {
  const condstore = client.enabled.has('CONDSTORE') || client.capabilities.has('CONDSTORE');
  const status = await client.status(path, { messages: true, uidNext: true, uidValidity: true, highestModseq: condstore });
  if (!status) throw Object.assign(new Error(`STATUS failed for "${path}"`), { path });
  return {
    path,
    messages: status.messages ?? 0,
    uidNext: status.uidNext ?? 0,
    uidValidity: Number(status.uidValidity ?? 0),
    ...(status.highestModseq !== undefined && status.highestModseq > 0n ? { highestModseq: status.highestModseq } : {}),
  };
}

export function supportsCondstore(client: ImapFlow): boolean {
  const mailbox = client.mailbox;
  return client.enabled.has('CONDSTORE') && !!mailbox && !mailbox.noModseq;
}

export function supportsQresync(client: ImapFlow): boolean {
  return client.enabled.has('QRESYNC') && supportsCondstore(client);
}

/** UID SEARCH UID from:* [SINCE date] in the selected folder, ascending, only UIDs ≥ from. */
export async function searchUidsFrom(client: ImapFlow, from: number, since?: Date): Promise<number[]> {
  const query = since ? { uid: `${from}:*`, since } : { uid: `${from}:*` };
  const found = await client.search(query, { uid: true });
  if (!found) throw new Error('UID SEARCH was rejected by the server');
  // "n:*" includes the highest UID even when it is below n
  return found.filter((uid) => uid >= from).sort((a, b) => a - b);
}

/** UID SEARCH ALL: every UID in the selected folder. */
export async function searchAllUids(client: ImapFlow): Promise<number[]> {
  const found = await client.search({ all: true }, { uid: true });
  if (!found) throw new Error('UID SEARCH ALL was rejected by the server');
  return found;
}

/**
 * The first bytes of part 1 come with the metadata: for a single-part mail, or a text followed by
 * attachments, that is the whole text, and the second FETCH for text parts is not needed.
 */
export const PREFETCH_PART = '1';
export const PREFETCH_BYTES = 24 * 1024;

export const META_QUERY: FetchQueryObject = {
  uid: true,
  flags: true,
  envelope: true,
  bodyStructure: true,
  size: true,
  internalDate: true,
  headers: HEADER_FIELDS,
  bodyParts: [{ key: PREFETCH_PART, maxLength: PREFETCH_BYTES }],
};

/** Everything but the bodies (and the start of part 1), for a set of UIDs. */
export async function fetchMessageMeta(client: ImapFlow, uids: number[]): Promise<FetchMessageObject[]> {
  if (!uids.length) return [];
  return client.fetchAll(compactUidSet(uids), META_QUERY, { uid: true });
}

/**
 * Messages up to this size are read from one FETCH of their source (the same FETCH raw imapflow
 * makes) and split here; larger ones are read part by part, so an attachment is never fetched
 * whole by the sync.
 */
export const SOURCE_FETCH_BYTES = 256 * 1024;

/** Sources fetched in one FETCH add up to about this much (by RFC822.SIZE), so a batch of large mails is split. */
export const SOURCE_FETCH_BATCH_BYTES = 16 * 1024 * 1024;

/** Messages up to this size are fetched as sources without asking their size first (a run of them stays ~16 MiB). */
export const SMALL_SOURCE_BYTES = 32 * 1024;

/** Which of these UIDs have an RFC822.SIZE of at least `bytes`: UID SEARCH UID … LARGER, answered from the index. */
export async function searchAtLeast(client: ImapFlow, uids: number[], bytes: number): Promise<number[]> {
  if (!uids.length) return [];
  const found = await client.search({ uid: compactUidSet(uids), larger: bytes - 1 }, { uid: true });
  if (!found) throw new Error('UID SEARCH LARGER was rejected by the server');
  return found;
}

/** RFC822.SIZE of each UID: one short FETCH, answered from the server's index. */
export async function fetchSizes(client: ImapFlow, uids: number[]): Promise<Map<number, number>> {
  if (!uids.length) return new Map();
  const rows = await client.fetchAll(compactUidSet(uids), { uid: true, size: true }, { uid: true });
  return new Map(rows.map((row) => [row.uid, row.size ?? 0]));
}

/**
 * Flags and the first SOURCE_FETCH_BYTES of the source; a shorter source is the whole message. No ENVELOPE: the
 * caller reads the same fields from the header it splits anyway (parsing the ENVELOPE was about a fifth of
 * imapflow's time for this FETCH).
 */
export async function fetchSmallSources(client: ImapFlow, uids: number[], maxBytes = SOURCE_FETCH_BYTES): Promise<FetchMessageObject[]> {
  if (!uids.length) return [];
  const query: FetchQueryObject = { uid: true, flags: true, size: true, internalDate: true, source: { start: 0, maxLength: maxBytes } };
  return client.fetchAll(compactUidSet(uids), query, { uid: true });
}

/** The given body parts of a set of UIDs (all UIDs share the same part ids). */
export async function fetchBodyParts(client: ImapFlow, uids: number[], partIds: string[], maxBytesPerPart?: number): Promise<FetchMessageObject[]> {
  if (!uids.length || !partIds.length) return [];
  const bodyParts = partIds.map((key) => (maxBytesPerPart ? { key, maxLength: maxBytesPerPart } : key));
  return client.fetchAll(compactUidSet(uids), { uid: true, bodyParts }, { uid: true });
}

/** The whole message source plus what the fallback parse needs beside it. */
export async function fetchSourceOf(client: ImapFlow, uid: number): Promise<FetchMessageObject | false> {
  return client.fetchOne(String(uid), { uid: true, flags: true, size: true, internalDate: true, source: true }, { uid: true });
}

/** Envelope and flags only: the last resort for a message nothing else could read. */
export async function fetchEnvelopeOf(client: ImapFlow, uid: number): Promise<FetchMessageObject | false> {
  return client.fetchOne(String(uid), { uid: true, flags: true, size: true, internalDate: true, envelope: true }, { uid: true });
}

export interface FlagChanges {
  changed: Array<{ uid: number; flags: string[] }>;
  /** UIDs the server reported as expunged (QRESYNC VANISHED (EARLIER)); null without QRESYNC. */
  vanished: number[] | null;
}

/**
 * UID FETCH 1:* (FLAGS) (CHANGEDSINCE modseq [VANISHED]): flags changed since `modseq` and, with
 * QRESYNC, the UIDs expunged since then.
 */
export async function fetchChangesSince(client: ImapFlow, path: string, modseq: bigint): Promise<FlagChanges> {
  const qresync = supportsQresync(client);
  const vanished: number[] = [];
  const onExpunge = (event: { path: string; uid?: number; vanished: boolean }) => {
    if (event.vanished && event.uid && event.path === path) vanished.push(event.uid);
  };
  client.on('expunge', onExpunge);
  try {
    const rows = await client.fetchAll('1:*', { uid: true, flags: true }, { uid: true, changedSince: modseq });
    return {
      changed: rows.map((row) => ({ uid: row.uid, flags: row.flags ? [...row.flags] : [] })),
      vanished: qresync ? vanished : null,
    };
  } finally {
    client.off('expunge', onExpunge);
  }
}

/** FLAGS of every message in a UID set: the flag sync of servers without CONDSTORE. */
export async function fetchFlagsOf(client: ImapFlow, uidSet: string): Promise<Array<{ uid: number; flags: string[] }>> {
  if (!uidSet) return [];
  const rows = await client.fetchAll(uidSet, { uid: true, flags: true }, { uid: true });
  return rows.map((row) => ({ uid: row.uid, flags: row.flags ? [...row.flags] : [] }));
}
