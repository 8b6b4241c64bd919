/**
 * New messages for a list of UIDs. Small messages: one FETCH of their source, split here.
 * Larger ones, and any whose structure the split would have to guess: metadata (with the start
 * of part 1) in one FETCH, the text parts the metadata did not cover in one FETCH per distinct
 * set of part ids, and a full parse for whatever that could not read.
 */
import type { FetchMessageObject, ImapFlow } from 'imapflow';
import type { SyncedMessage } from '../../types';
import {
  fetchBodyParts,
  fetchEnvelopeOf,
  fetchMessageMeta,
  fetchSizes,
  fetchSmallSources,
  fetchSourceOf,
  PREFETCH_BYTES,
  PREFETCH_PART,
  searchAtLeast,
  SMALL_SOURCE_BYTES,
  SOURCE_FETCH_BATCH_BYTES,
  SOURCE_FETCH_BYTES,
} from './imapCommands';
import { envelopeOfFields } from './headerEnvelope';
import { messageFromParsed, parseSource } from './imapFullParse';
import { bodyPartIds, envelopeFields, messageFromParts, partBody, planBody, type BodyPlan } from './imapParse';
import { structureOfSource } from './mimeStructure';

/** Longest text or html part taken into a synced message; the rest stays on the server. */
export const DEFAULT_MAX_TEXT_BYTES = 2 * 1024 * 1024;

export interface FetchLimits {
  /** Longest text or html part kept per message (default 2 MiB). */
  maxTextBytes?: number;
  /** Messages smaller than this are read from one FETCH of their source (default 256 KiB; 0: always part by part). */
  sourceFetchBytes?: number;
}

async function readOneByOne(client: ImapFlow, uids: number[], broken: Set<number>): Promise<FetchMessageObject[]> {
  const metas: FetchMessageObject[] = [];
  for (const uid of uids) {
    try {
      metas.push(...(await fetchMessageMeta(client, [uid])));
    } catch (err) {
      if (!client.usable) throw err;
      broken.add(uid);
    }
  }
  return metas;
}

async function fallbackMessage(client: ImapFlow, folder: string, uid: number, meta: FetchMessageObject | undefined, reason: unknown): Promise<SyncedMessage | undefined> {
  let fetched: FetchMessageObject | false = false;
  try {
    fetched = await fetchSourceOf(client, uid);
    if (!fetched) return undefined; // expunged in the meantime
    if (!fetched.source) throw new Error('the server returned no source');
    const synced = messageFromParsed(folder, { ...fetched, envelope: meta?.envelope, headers: meta?.headers }, await parseSource(fetched.source));
    return synced;
  } catch (err) {
    if (!client.usable) throw err;
    let base = meta ?? fetched ?? undefined;
    if (!base || !base.envelope) base = (await fetchEnvelopeOf(client, uid).catch(() => false)) || base;
    if (!base) base = { uid, seq: 0 };
    const why = [reason, err].map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
    return { ...envelopeFields(folder, base), parseError: why };
  }
}

/** The body is just part 1 and the prefetched bytes hold all of it. */
function prefetchedIsEnough(plan: BodyPlan, meta: FetchMessageObject): boolean {
  const ids = bodyPartIds(plan);
  if (ids.length !== 1 || ids[0] !== PREFETCH_PART) return false;
  const prefetched = partBody(meta.bodyParts, PREFETCH_PART);
  if (!prefetched) return false;
  const node = plan.text[0] ?? plan.html[0];
  return prefetched.length < PREFETCH_BYTES || (node.size !== undefined && prefetched.length >= node.size);
}

/** Messages read part by part: metadata in one FETCH, text parts grouped by part ids. */
async function fetchByStructure(client: ImapFlow, folder: string, uids: number[], maxTextBytes = DEFAULT_MAX_TEXT_BYTES): Promise<SyncedMessage[]> {
  const broken = new Map<number, unknown>();
  let metas: FetchMessageObject[];
  try {
    metas = await fetchMessageMeta(client, uids);
  } catch (err) {
    if (!client.usable) throw err;
    const failed = new Set<number>();
    metas = await readOneByOne(client, uids, failed);
    for (const uid of failed) broken.set(uid, err);
  }

  const plans = new Map<number, BodyPlan>();
  const groups = new Map<string, number[]>();
  const bodies = new Map<number, FetchMessageObject>();
  for (const meta of metas) {
    try {
      if (!meta.bodyStructure) throw new Error('the server returned no BODYSTRUCTURE');
      const plan = planBody(meta.bodyStructure);
      plans.set(meta.uid, plan);
      if (prefetchedIsEnough(plan, meta)) {
        bodies.set(meta.uid, meta);
        continue;
      }
      const key = bodyPartIds(plan).join(' ');
      const group = groups.get(key);
      if (group) group.push(meta.uid);
      else groups.set(key, [meta.uid]);
    } catch (err) {
      broken.set(meta.uid, err);
    }
  }

  for (const [key, groupUids] of groups) {
    if (!key) continue;
    try {
      for (const row of await fetchBodyParts(client, groupUids, key.split(' '), maxTextBytes)) bodies.set(row.uid, row);
    } catch (err) {
      if (!client.usable) throw err;
      for (const uid of groupUids) broken.set(uid, err);
    }
  }

  const byUid = new Map<number, SyncedMessage>();
  const metaByUid = new Map(metas.map((m) => [m.uid, m]));
  for (const meta of metas) {
    const plan = plans.get(meta.uid);
    if (!plan || broken.has(meta.uid)) continue;
    try {
      const row = bodies.get(meta.uid);
      byUid.set(meta.uid, messageFromParts(folder, meta, plan, row?.bodyParts, { binaryParts: row?.binaryParts }));
    } catch (err) {
      broken.set(meta.uid, err);
    }
  }
  for (const [uid, reason] of broken) {
    const synced = await fallbackMessage(client, folder, uid, metaByUid.get(uid), reason);
    if (synced) byUid.set(uid, synced);
  }
  return sortedByUid(byUid);
}

function sortedByUid(byUid: Map<number, SyncedMessage>): SyncedMessage[] {
  return [...byUid.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => m);
}

function truncatedBodies(bodies: Map<string, Buffer>, maxBytes: number): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [part, body] of bodies) out.set(part, body.length > maxBytes ? body.subarray(0, maxBytes) : body);
  return out;
}

/** A message from its whole source, or undefined when it should be read part by part instead. */
function messageFromSource(folder: string, row: FetchMessageObject, limit: number, maxTextBytes: number): SyncedMessage | undefined {
  const source = row.source;
  if (!source || source.length >= limit) return undefined;
  try {
    const structure = structureOfSource(source);
    const plan = planBody(structure.root);
    const meta = { ...row, source: undefined, headers: structure.header, envelope: envelopeOfFields(structure.fields) };
    return messageFromParts(folder, meta, plan, truncatedBodies(structure.bodies, maxTextBytes), { fields: structure.fields });
  } catch {
    return undefined;
  }
}

/** UIDs in runs whose sizes add up to at most `budget` bytes (a larger message is a run of its own). */
function runsBySize(uids: number[], sizes: Map<number, number>, budget: number): number[][] {
  const runs: number[][] = [];
  let run: number[] = [];
  let bytes = 0;
  for (const uid of uids) {
    const size = sizes.get(uid) ?? 0;
    if (run.length && bytes + size > budget) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(uid);
    bytes += size;
  }
  if (run.length) runs.push(run);
  return runs;
}

/**
 * Sizes of these UIDs as far as the runs need them: the exact RFC822.SIZE of every message of `threshold` bytes or
 * more (one SEARCH finds them, one short FETCH of just those gives their sizes); the others count as just below.
 * A FETCH of every size cost about a tenth of the CPU of fetching the sources themselves.
 */
async function sizesForRuns(client: ImapFlow, uids: number[], threshold: number): Promise<Map<number, number>> {
  let larger: Set<number>;
  try {
    larger = new Set(await searchAtLeast(client, uids, threshold));
  } catch (err) {
    if (!client.usable) throw err;
    return fetchSizes(client, uids);
  }
  const exact = await fetchSizes(client, [...larger]);
  return new Map(uids.map((uid) => [uid, exact.get(uid) ?? (larger.has(uid) ? Infinity : threshold - 1)]));
}

/**
 * New messages for a list of UIDs, oldest first. The small ones come as sources, about SOURCE_FETCH_BATCH_BYTES
 * per FETCH; the large ones, any whose size the server did not give and any the split refuses are read part by
 * part.
 */
export async function fetchNewMessages(client: ImapFlow, folder: string, uids: number[], limits: FetchLimits = {}): Promise<SyncedMessage[]> {
  const maxTextBytes = limits.maxTextBytes ?? DEFAULT_MAX_TEXT_BYTES;
  const sourceLimit = limits.sourceFetchBytes ?? SOURCE_FETCH_BYTES;
  if (sourceLimit <= 0 || !uids.length) return fetchByStructure(client, folder, uids, maxTextBytes);
  let sizes: Map<number, number>;
  try {
    sizes = await sizesForRuns(client, uids, Math.min(SMALL_SOURCE_BYTES, sourceLimit));
  } catch (err) {
    if (!client.usable) throw err;
    return fetchByStructure(client, folder, uids, maxTextBytes);
  }
  const small: number[] = [];
  const rest: number[] = [];
  for (const uid of uids) ((sizes.get(uid) ?? Infinity) < sourceLimit ? small : rest).push(uid);
  const byUid = new Map<number, SyncedMessage>();
  for (const run of runsBySize(small, sizes, SOURCE_FETCH_BATCH_BYTES)) {
    let rows: FetchMessageObject[];
    try {
      rows = await fetchSmallSources(client, run, sourceLimit);
    } catch (err) {
      if (!client.usable) throw err;
      rest.push(...run);
      continue;
    }
    for (const row of rows) {
      const synced = messageFromSource(folder, row, sourceLimit, maxTextBytes);
      if (synced) byUid.set(row.uid, synced);
      else rest.push(row.uid);
    }
  }
  rest.sort((a, b) => a - b);
  for (const synced of await fetchByStructure(client, folder, rest, maxTextBytes)) byUid.set(Number(synced.providerId), synced);
  return sortedByUid(byUid);
}

// ---------------------------------------------------------------------------------------------
