import { Op } from '@nocobase/database';
import type { SyncedAddress, SyncedMessage } from '@mailbridge/mail-core';
import { insertRows } from '../db/bulkWrite';

const MAX_PARTICIPANTS = 50;

interface NewThread {
  subject?: string;
  providerThreadId: string | null;
  participants: Set<string>;
  id?: string;
}

// Threads by RFC 5322 ancestry: a message joins the thread of any stored message it answers (In-Reply-To,
// References) or that shares its Message-ID (the same mail in another folder); failing that, the thread of its
// provider conversation (Graph conversationId). A batch costs a few indexed lookups and one bulk insert of the
// threads it starts, not statements per message.
export async function assignThreads(
  db: any,
  accountId: string,
  messages: SyncedMessage[],
  transaction: any,
): Promise<Map<SyncedMessage, string>> {
  const ancestry = (m: SyncedMessage) => [m.messageId, m.inReplyTo, ...(m.references ?? [])].filter(Boolean) as string[];
  const known = await threadsOfMessageIds(db, accountId, [...new Set(messages.flatMap(ancestry))], transaction);
  const byConversation = await threadsOfConversations(db, accountId, messages, transaction);
  const assigned = new Map<SyncedMessage, string | NewThread>();
  const started: NewThread[] = [];
  for (const m of messages) {
    let thread: string | NewThread | undefined = ancestry(m).map((id) => known.get(id)).find(Boolean);
    thread ??= m.conversationId ? byConversation.get(m.conversationId) : undefined;
    if (!thread) {
      thread = { subject: m.subject, providerThreadId: m.conversationId ?? null, participants: new Set() };
      started.push(thread);
    }
    if (typeof thread !== 'string') addParticipants(thread, m);
    if (m.messageId) known.set(m.messageId, thread);
    if (m.conversationId) byConversation.set(m.conversationId, thread);
    assigned.set(m, thread);
  }
  await createThreads(db, accountId, started, transaction);
  const result = new Map<SyncedMessage, string>();
  for (const [m, thread] of assigned) result.set(m, typeof thread === 'string' ? thread : thread.id!);
  return result;
}

async function threadsOfMessageIds(db: any, accountId: string, messageIds: string[], transaction: any) {
  const known = new Map<string, string | NewThread>();
  for (const chunk of chunks(messageIds, 500)) {
    const rows = await db.getModel('mailMessages').findAll({
      attributes: ['messageId', 'threadId'],
      where: { accountId, messageId: { [Op.in]: chunk }, threadId: { [Op.ne]: null } },
      transaction,
      raw: true,
    });
    for (const r of rows) known.set(r.messageId, String(r.threadId));
  }
  return known;
}

async function threadsOfConversations(db: any, accountId: string, messages: SyncedMessage[], transaction: any) {
  const found = new Map<string, string | NewThread>();
  const ids = [...new Set(messages.map((m) => m.conversationId).filter(Boolean) as string[])];
  for (const chunk of chunks(ids, 500)) {
    const rows = await db.getModel('mailThreads').findAll({
      attributes: ['id', 'providerThreadId'],
      where: { accountId, providerThreadId: { [Op.in]: chunk } },
      transaction,
      raw: true,
    });
    rows.forEach((r: any) => found.set(r.providerThreadId, String(r.id)));
  }
  return found;
}

function addParticipants(thread: NewThread, m: SyncedMessage) {
  const people: Array<SyncedAddress | undefined> = [m.from, ...(m.to ?? []), ...(m.cc ?? [])];
  for (const person of people) {
    if (thread.participants.size >= MAX_PARTICIPANTS) return;
    if (person?.address) thread.participants.add(person.address.toLowerCase());
  }
}

async function createThreads(db: any, accountId: string, started: NewThread[], transaction: any) {
  const rows = started.map((t) => ({
    accountId,
    subject: t.subject ?? null,
    providerThreadId: t.providerThreadId,
    messageCount: 0,
    participants: [...t.participants],
  }));
  const ids = await insertRows(db, 'mailThreads', rows, transaction);
  started.forEach((thread, i) => (thread.id = ids[i]));
  if (started.some((t) => !t.id)) throw new Error('The database returned no ids for new mail threads.');
}

/** Recounts messageCount and lastMessageAt of these threads from their messages: one statement per 500 threads. */
export async function refreshThreadStats(db: any, threadIds: string[], transaction: any) {
  const Messages = db.getModel('mailMessages');
  const Threads = db.getModel('mailThreads');
  const q = db.sequelize.getQueryInterface().queryGenerator;
  const threads = q.quoteTable(Threads.getTableName());
  const messages = q.quoteTable(Messages.getTableName());
  const column = (model: any, attribute: string) => q.quoteIdentifier(model.rawAttributes[attribute].field);
  const [threadId, date, id] = [column(Messages, 'threadId'), column(Messages, 'date'), column(Threads, 'id')];
  const stats = (fn: string) => `(SELECT ${fn} FROM ${messages} m WHERE m.${threadId} = ${threads}.${id})`;
  for (const chunk of chunks([...new Set(threadIds)], 500)) {
    await db.sequelize.query(
      `UPDATE ${threads} SET ${column(Threads, 'messageCount')} = ${stats('COUNT(*)')}, ` +
        `${column(Threads, 'lastMessageAt')} = ${stats(`MAX(m.${date})`)} WHERE ${id} IN (:ids)`,
      { replacements: { ids: chunk }, transaction },
    );
  }
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
