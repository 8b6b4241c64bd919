import { Op } from '@nocobase/database';
import type { SyncedMessage } from '@mailbridge/mail-core';

// Threads by RFC 5322 ancestry: a message joins the thread of any stored message it answers (In-Reply-To,
// References) or that shares its Message-ID (the same mail in another folder); failing that, the thread of its
// provider conversation (Graph conversationId). Indexed lookups, a few queries per batch, not per message.
export async function assignThreads(
  db: any,
  accountId: string,
  messages: SyncedMessage[],
  transaction: any,
): Promise<Map<SyncedMessage, string>> {
  const ancestry = (m: SyncedMessage) => [m.messageId, m.inReplyTo, ...(m.references ?? [])].filter(Boolean) as string[];
  const wanted = [...new Set(messages.flatMap(ancestry))];
  const known = new Map<string, string>();
  for (const chunk of chunks(wanted, 500)) {
    const rows = await db.getModel('mailMessages').findAll({
      attributes: ['messageId', 'threadId'],
      where: { accountId, messageId: { [Op.in]: chunk }, threadId: { [Op.ne]: null } },
      transaction,
      raw: true,
    });
    for (const r of rows) known.set(r.messageId, String(r.threadId));
  }
  const byConversation = await threadsOfConversations(db, accountId, messages, transaction);
  const result = new Map<SyncedMessage, string>();
  const threads = db.getModel('mailThreads');
  for (const m of messages) {
    let threadId = ancestry(m).map((id) => known.get(id)).find(Boolean);
    threadId ??= m.conversationId ? byConversation.get(m.conversationId) : undefined;
    if (!threadId) {
      const thread = await threads.create(
        {
          accountId,
          subject: m.subject,
          providerThreadId: m.conversationId ?? null,
          lastMessageAt: m.date,
          messageCount: 0,
          participants: [],
        },
        { transaction },
      );
      threadId = String(thread.get('id'));
    }
    if (m.messageId) known.set(m.messageId, threadId);
    if (m.conversationId) byConversation.set(m.conversationId, threadId);
    result.set(m, threadId);
  }
  return result;
}

async function threadsOfConversations(db: any, accountId: string, messages: SyncedMessage[], transaction: any) {
  const found = new Map<string, string>();
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

export async function refreshThreadStats(db: any, threadIds: string[], transaction: any) {
  const messages = db.getModel('mailMessages');
  for (const threadId of new Set(threadIds)) {
    const count = await messages.count({ where: { threadId }, transaction });
    const last = await messages.max('date', { where: { threadId }, transaction });
    await db.getModel('mailThreads').update({ messageCount: count, lastMessageAt: last }, { where: { id: threadId }, transaction });
  }
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
