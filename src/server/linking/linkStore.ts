import { Op } from '@nocobase/database';
import { chunks } from '../sync/threading';
import type { LinkedBy } from './linkingSettings';

export interface LinkInput {
  threadId: string;
  accountId: string;
  mailMessageId?: string | null;
  collection: string;
  recordId: string;
  linkedBy: LinkedBy;
  createdById?: string | number | null;
}

export interface LinkRow {
  id?: string;
  threadId: string;
  /** The message that made the link. */
  mailMessageId?: string | null;
  collection: string;
  recordId: string;
  linkedBy: LinkedBy;
}

export const linkKey = (l: { threadId: string; collection: string; recordId: string }) =>
  `${l.threadId}|${l.collection}|${l.recordId}`;

/** Inserts links; one that exists already (same thread, collection, record) is left as it is. */
export async function addLinks(db: any, links: LinkInput[], transaction?: any) {
  const seen = new Set<string>();
  const rows = links
    .filter((l) => !seen.has(linkKey(l)) && seen.add(linkKey(l)))
    .map((l) => ({
      threadId: l.threadId,
      accountId: l.accountId,
      mailMessageId: l.mailMessageId ?? null,
      collection: l.collection,
      recordId: String(l.recordId),
      linkedBy: l.linkedBy,
      createdById: l.createdById ?? null,
    }));
  for (const part of chunks(rows, 500)) {
    await db.getModel('mailLinks').bulkCreate(part, { transaction, ignoreDuplicates: true });
  }
}

export async function linksOfThreads(db: any, threadIds: string[], transaction?: any): Promise<Map<string, LinkRow[]>> {
  const out = new Map<string, LinkRow[]>();
  for (const part of chunks([...new Set(threadIds)], 500)) {
    const rows = await db.getModel('mailLinks').findAll({
      attributes: ['id', 'threadId', 'mailMessageId', 'collection', 'recordId', 'linkedBy'],
      where: { threadId: { [Op.in]: part } },
      order: [['id', 'ASC']],
      transaction,
      raw: true,
    });
    for (const r of rows) {
      const key = String(r.threadId);
      if (!out.has(key)) out.set(key, []);
      out.get(key)!.push({
        id: String(r.id),
        threadId: key,
        mailMessageId: r.mailMessageId == null ? null : String(r.mailMessageId),
        collection: r.collection,
        recordId: String(r.recordId),
        linkedBy: r.linkedBy,
      });
    }
  }
  return out;
}

export async function threadsOfRecord(db: any, collection: string, recordId: string, limit = 200): Promise<string[]> {
  const rows = await db.getModel('mailLinks').findAll({
    attributes: ['threadId'],
    where: { collection, recordId: String(recordId) },
    limit,
    raw: true,
  });
  return [...new Set<string>(rows.map((r: any) => String(r.threadId)))];
}
