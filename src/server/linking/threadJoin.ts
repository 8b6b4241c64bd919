import { Op } from '@nocobase/database';
import { chunks } from '../sync/threading';
import { addressesOf, compareIds, MessageRow } from './messageRow';
import type { LinkingSettings } from './linkingSettings';
import { baseAddress, normalizedSubject } from './tokens';
import { insertRows } from '../db/bulkWrite';
import { writeTransaction } from '../db/writeTransaction';

// Joins threads that turn out to be one conversation once more mail is stored: a reply that came before its parent
// sits in a thread of its own until the parent (or a sibling) arrives. Every stored message leaves its own
// Message-ID and its In-Reply-To/References in mailMessageRefs; a new message looks up all of its ids there (one
// indexed query per batch) and every thread found is merged into one. The fallback by subject and participants is
// used only when the account turns it on (fuzzyThreadWindowDays).

const MAX_REFS = 40;
const MIN_SUBJECT_KEY = 4;
const SUBJECT_KEY = 'subj:';

export interface JoinResult {
  /** Messages whose Message-ID was stored in this account before (another folder, an earlier copy). */
  seenBefore: Set<string>;
  /** Threads merged away -> the thread they joined. */
  merged: Map<string, string>;
}

const validId = (id: unknown): id is string => typeof id === 'string' && id.length > 2 && id.length <= 255;

/** In-Reply-To and References, without duplicates; very long chains keep their root and their newest ids. */
export function ancestryOf(row: Pick<MessageRow, 'inReplyTo' | 'references' | 'messageId'>): string[] {
  const ids = [...new Set([row.inReplyTo, ...row.references].filter(validId))].filter((id) => id !== row.messageId);
  return ids.length > MAX_REFS ? [...ids.slice(0, 3), ...ids.slice(ids.length - (MAX_REFS - 3))] : ids;
}

class UnionFind {
  private parent = new Map<string, string>();
  find(x: string): string {
    let root = this.parent.get(x) ?? x;
    if (root !== x) {
      root = this.find(root);
      this.parent.set(x, root);
    }
    return root;
  }
  union(a: string, b: string) {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    if (compareIds(ra, rb) < 0) this.parent.set(rb, ra);
    else this.parent.set(ra, rb);
  }
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const x of this.parent.keys()) {
      const root = this.find(x);
      if (!out.has(root)) out.set(root, [root]);
      if (x !== root) out.get(root)!.push(x);
    }
    return out;
  }
}

interface RefRow {
  refMessageId: string;
  kind: string;
  threadId: string;
  date?: Date | null;
}

async function findRefs(db: any, accountId: string, keys: string[], transaction: any): Promise<RefRow[]> {
  const out: RefRow[] = [];
  for (const part of chunks([...new Set(keys)], 500)) {
    const rows = await db.getModel('mailMessageRefs').findAll({
      attributes: ['refMessageId', 'kind', 'threadId', 'date'],
      where: { accountId, refMessageId: { [Op.in]: part } },
      transaction,
      raw: true,
    });
    for (const r of rows)
      out.push({
        refMessageId: r.refMessageId,
        kind: r.kind,
        threadId: String(r.threadId),
        date: r.date ? new Date(r.date) : null,
      });
  }
  return out;
}

export async function joinThreads(
  db: any,
  accountId: string,
  rows: MessageRow[],
  settings: LinkingSettings,
  ownAddresses: Set<string>,
): Promise<JoinResult> {
  const seenBefore = new Set<string>();
  const merged = new Map<string, string>();
  if (!rows.length) return { seenBefore, merged };
  const fuzzy = settings.fuzzyThreadWindowDays > 0;
  const subjectKey = (r: MessageRow) => {
    const s = normalizedSubject(settings, r.subject);
    return s.length >= MIN_SUBJECT_KEY ? SUBJECT_KEY + s.slice(0, 200) : undefined;
  };

  return db.sequelize.transaction(writeTransaction(db), async (transaction: any) => {
    const keysOf = (r: MessageRow) => [...(validId(r.messageId) ? [r.messageId] : []), ...ancestryOf(r)];
    const existing = await findRefs(db, accountId, rows.flatMap(keysOf), transaction);
    const byKey = new Map<string, RefRow[]>();
    for (const ref of existing) {
      if (!byKey.has(ref.refMessageId)) byKey.set(ref.refMessageId, []);
      byKey.get(ref.refMessageId)!.push(ref);
    }

    const uf = new UnionFind();
    const inBatch = new Map<string, string>();
    const ownSeen = new Set<string>();
    for (const r of rows) {
      uf.find(r.threadId);
      const keys = keysOf(r);
      if (
        validId(r.messageId) &&
        (ownSeen.has(r.messageId) || byKey.get(r.messageId)?.some((x) => x.kind === 'self'))
      ) {
        seenBefore.add(r.id);
      }
      for (const key of keys) {
        for (const ref of byKey.get(key) ?? []) uf.union(r.threadId, ref.threadId);
        const other = inBatch.get(key);
        if (other) uf.union(r.threadId, other);
      }
      for (const key of keys) if (!inBatch.has(key)) inBatch.set(key, r.threadId);
      if (validId(r.messageId)) ownSeen.add(r.messageId);
    }

    let subjectRefs: RefRow[] = [];
    if (fuzzy) {
      subjectRefs = await findRefs(db, accountId, rows.map(subjectKey).filter(Boolean) as string[], transaction);
      await joinBySubject(db, rows, uf, subjectRefs, subjectKey, settings, ownAddresses, transaction);
    }

    const groups = [...uf.groups().values()].filter((g) => g.length > 1);
    for (const [from, to] of await mergeThreadGroups(db, groups, rows, transaction)) merged.set(from, to);
    for (const r of rows) r.threadId = merged.get(r.threadId) ?? r.threadId;

    // One row per (key, kind, thread): what is there already (now under its merged thread) is not added again.
    const have = new Set(
      [...existing, ...subjectRefs].map((x) => `${x.kind}|${x.refMessageId}|${merged.get(x.threadId) ?? x.threadId}`),
    );
    const fresh: any[] = [];
    const add = (r: MessageRow, kind: string, key: string) => {
      const k = `${kind}|${key}|${r.threadId}`;
      if (have.has(k)) return;
      have.add(k);
      fresh.push({ accountId, refMessageId: key, kind, threadId: r.threadId, mailMessageId: r.id, date: r.date });
    };
    for (const r of rows) {
      if (validId(r.messageId)) add(r, 'self', r.messageId);
      for (const id of ancestryOf(r)) add(r, 'ref', id);
      const sk = fuzzy ? subjectKey(r) : undefined;
      if (sk) add(r, 'subject', sk);
    }
    await insertRows(db, 'mailMessageRefs', fresh, transaction);
    return { seenBefore, merged };
  });
}

// A message that started a thread of its own joins the most recent thread with the same subject (prefixes and
// tokens removed) that was active within the window and shares a participant with it.
async function joinBySubject(
  db: any,
  rows: MessageRow[],
  uf: UnionFind,
  subjectRefs: RefRow[],
  subjectKey: (r: MessageRow) => string | undefined,
  settings: LinkingSettings,
  ownAddresses: Set<string>,
  transaction: any,
) {
  const windowMs = settings.fuzzyThreadWindowDays * 86_400_000;
  const threadIds = [...new Set(rows.map((r) => r.threadId))];
  const counts = new Map<string, number>();
  for (const part of chunks(threadIds, 500)) {
    const threads = await db
      .getModel('mailThreads')
      .findAll({ attributes: ['id', 'messageCount'], where: { id: part }, transaction, raw: true });
    for (const t of threads) counts.set(String(t.id), Number(t.messageCount) || 0);
  }
  const groups = uf.groups();
  const alone = (threadId: string) => (groups.get(uf.find(threadId))?.length ?? 1) === 1;
  const lonely = rows.filter((r) => (counts.get(r.threadId) ?? 0) <= 1 && alone(r.threadId));
  if (!lonely.length) return;
  const candidatesOf = new Map<MessageRow, RefRow[]>();
  for (const r of lonely) {
    const key = subjectKey(r);
    if (!key) continue;
    const list = subjectRefs.filter(
      (s) =>
        s.refMessageId === key &&
        s.threadId !== r.threadId &&
        s.date &&
        Math.abs(r.date.getTime() - s.date.getTime()) <= windowMs,
    );
    if (list.length)
      candidatesOf.set(
        r,
        list.sort((a, b) => b.date!.getTime() - a.date!.getTime()),
      );
  }
  const candidateThreads = [...new Set([...candidatesOf.values()].flat().map((c) => c.threadId))];
  if (!candidateThreads.length) return;
  const people = new Map<string, Set<string>>();
  for (const part of chunks(candidateThreads, 200)) {
    const messages = await db.getModel('mailMessages').findAll({
      attributes: ['threadId', 'from', 'to', 'cc'],
      where: { threadId: part },
      limit: 2000,
      transaction,
    });
    for (const m of messages) {
      const key = String(m.get('threadId'));
      if (!people.has(key)) people.set(key, new Set());
      for (const a of addressesOf([m.get('from'), ...(m.get('to') ?? []), ...(m.get('cc') ?? [])]))
        people.get(key)!.add(baseAddress(a));
    }
  }
  for (const [r, candidates] of candidatesOf) {
    const mine = addressesOf([r.from, ...r.to, ...r.cc])
      .map(baseAddress)
      .filter((a) => !ownAddresses.has(a));
    const match = candidates.find((c) => mine.some((a) => people.get(c.threadId)?.has(a)));
    if (match) uf.union(r.threadId, match.threadId);
  }
}

const REPLY_SUBJECT = /^\s*((re|aw|sv|vs|antw|fw|fwd|wg|tr|rv)(\[\d+\])?\s*:)/i;

/**
 * Merges each group of threads into its oldest thread that still exists, all groups in a handful of statements:
 * messages, references and links move (duplicate links dropped), the emptied threads go, the surviving thread gets
 * its count, last date and the subject of the conversation's start. Returns merged thread -> surviving thread.
 */
export async function mergeThreadGroups(
  db: any,
  groups: string[][],
  rows: MessageRow[],
  transaction: any,
): Promise<Map<string, string>> {
  const merged = new Map<string, string>();
  const all = [...new Set(groups.flat())];
  if (!all.length) return merged;
  const Threads = db.getModel('mailThreads');
  const Messages = db.getModel('mailMessages');
  const alive = new Map<string, any>();
  for (const part of chunks(all, 500)) {
    for (const t of await Threads.findAll({
      attributes: ['id', 'subject'],
      where: { id: { [Op.in]: part } },
      transaction,
      raw: true,
    })) {
      alive.set(String(t.id), t);
    }
  }
  const targets = new Map<string, string[]>();
  for (const group of groups) {
    const living = group.filter((id) => alive.has(id)).sort(compareIds);
    if (!living.length) continue;
    const target = living[0];
    const others = group.filter((id) => id !== target);
    if (!others.length) continue;
    targets.set(target, group);
    for (const o of others) merged.set(o, target);
  }
  if (!merged.size) return merged;

  const others = [...merged.keys()];
  // One statement per table: threadId = CASE WHEN threadId = <merged> THEN <survivor> … END.
  const moveThreads = async (model: any, part: string[], extra: any = {}) => {
    const column = db.sequelize.getQueryInterface().quoteIdentifier(model.rawAttributes.threadId.field ?? 'threadId');
    const id = (v: string) => (/^\d+$/.test(v) ? v : db.sequelize.escape(v));
    const cases = part.map((o) => `WHEN ${column} = ${id(o)} THEN ${id(merged.get(o)!)}`).join(' ');
    await model.update(
      { threadId: db.sequelize.literal(`CASE ${cases} ELSE ${column} END`) },
      { where: { threadId: { [Op.in]: part } }, transaction, ...extra },
    );
  };
  for (const part of chunks(others, 400)) {
    await moveThreads(Messages, part, { silent: true });
    await moveThreads(db.getModel('mailMessageRefs'), part);
  }
  const Links = db.getModel('mailLinks');
  for (const part of chunks(others, 500)) {
    const links = await Links.findAll({ where: { threadId: { [Op.in]: part } }, transaction, raw: true });
    if (!links.length) continue;
    await Links.bulkCreate(
      links.map((l: any) => ({
        threadId: merged.get(String(l.threadId)),
        accountId: l.accountId,
        mailMessageId: l.mailMessageId,
        collection: l.collection,
        recordId: l.recordId,
        linkedBy: l.linkedBy,
        createdById: l.createdById,
      })),
      { transaction, ignoreDuplicates: true },
    );
    await Links.destroy({ where: { threadId: { [Op.in]: part } }, transaction });
  }
  for (const part of chunks(others, 500)) await Threads.destroy({ where: { id: { [Op.in]: part } }, transaction });

  const stats = new Map<string, { n: number; last: any }>();
  const field = (name: string) => Messages.rawAttributes[name]?.field ?? name;
  for (const part of chunks([...targets.keys()], 500)) {
    const found = await Messages.findAll({
      attributes: [
        'threadId',
        [db.sequelize.fn('COUNT', db.sequelize.col(field('id'))), 'n'],
        [db.sequelize.fn('MAX', db.sequelize.col(field('date'))), 'last'],
      ],
      where: { threadId: { [Op.in]: part } },
      group: [field('threadId')],
      transaction,
      raw: true,
    });
    for (const r of found) stats.set(String(r.threadId), { n: Number(r.n), last: r.last });
  }
  for (const [target, group] of targets) {
    // The conversation's start names it: a root message of this batch, else the first thread whose subject is
    // not a reply's, else the surviving thread's.
    const root = rows
      .filter((r) => group.includes(r.threadId) && !r.inReplyTo && !r.references.length)
      .sort((a, b) => a.date.getTime() - b.date.getTime())[0];
    const subject =
      root?.subject ??
      group
        .map((id) => alive.get(id)?.subject)
        .find((sub: unknown) => typeof sub === 'string' && sub && !REPLY_SUBJECT.test(sub)) ??
      alive.get(target).subject;
    const s = stats.get(target);
    await Threads.update(
      { subject, ...(s ? { messageCount: s.n, lastMessageAt: s.last } : {}) },
      { where: { id: target }, transaction },
    );
  }
  return merged;
}
