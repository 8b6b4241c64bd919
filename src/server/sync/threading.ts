import { Op } from '@nocobase/database';
import type { SyncedMessage } from '@mailbridge/mail-core';

// Threads by RFC 5322 ancestry: a message joins the thread of any stored message it answers (In-Reply-To,
// References) or that shares its Message-ID (the same mail in another folder). One indexed query per batch.
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
  const result = new Map<SyncedMessage, string>();
  const threads = db.getModel('mailThreads');
  for (const m of messages) {
    let threadId = ancestry(m).map((id) => known.get(id)).find(Boolean);
    if (!threadId) {
      const thread = await threads.create(
        { accountId, subject: m.subject, lastMessageAt: m.date, messageCount: 0, participants: [] },
        { transaction },
      );
      threadId = String(thread.get('id'));
    }
    if (m.messageId) known.set(m.messageId, threadId);
    result.set(m, threadId);
  }
  return result;
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
