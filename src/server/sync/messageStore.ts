import { Op } from '@nocobase/database';
import { utf8BodiesOf, type SyncBatch, type SyncedMessage } from '@mailbridge/mail-core';
import { insertRows } from '../db/bulkWrite';
import { messageRowFromValues, type MessageRow } from '../linking/messageRow';
import { writeTransaction } from '../db/writeTransaction';
import { assignThreads, chunks, refreshThreadStats } from './threading';
import { dropNulChars } from '../db/nulChars';
import { dropOutboxContent, outboxEntryIdOf, outboxPartsOf } from '../attachments/outboxAttachments';
import { destroyAttachmentRows } from '../attachments/keptFiles';

export interface StoreResult {
  added: number;
  changed: number;
  deleted: number;
  /** Database ids of the rows this batch added, for linking and triggers. */
  addedIds: string[];
  /** Those rows as linking reads them. */
  addedRows: MessageRow[];
}

export type Direction = 'in' | 'out';

function toRow(accountId: string, folder: string, m: SyncedMessage, threadId: string, direction: Direction) {
  // bodies that came from the sync worker as UTF-8 go to the database as they are (bulkWrite stores them as text)
  const utf8 = utf8BodiesOf(m);
  return {
    accountId,
    folder,
    providerId: m.providerId,
    messageId: m.messageId ?? null,
    inReplyTo: m.inReplyTo ?? null,
    references: m.references ?? [],
    threadId,
    conversationId: m.conversationId ?? null,
    direction,
    from: m.from ?? null,
    fromAddress: m.from?.address?.toLowerCase() ?? null,
    to: m.to,
    cc: m.cc,
    bcc: m.bcc,
    replyTo: m.replyTo,
    subject: m.subject,
    date: m.date,
    snippet: (m.snippet ?? '').slice(0, 300),
    text: (utf8 ? utf8.text : m.text) ?? null,
    html: (utf8 ? utf8.html : m.html) ?? null,
    flags: m.flags,
    seen: m.flags.includes('\\Seen'),
    size: m.size,
    hasAttachments: m.hasAttachments,
    headers: m.headers ?? {},
    parseError: m.parseError ?? null,
  };
}

// Stores one sync batch and the folder's new cursor in one transaction: after a crash either both are there
// or neither, so the next sync resumes exactly where the stored mail ends. Re-stored messages are skipped,
// which makes a repeated batch harmless.
export async function storeBatch(
  db: any,
  accountId: string,
  folder: string,
  batch: SyncBatch,
  direction: Direction = 'in',
): Promise<StoreResult> {
  const Messages = db.getModel('mailMessages');
  batch.added.forEach(dropNulChars);
  return db.sequelize.transaction(writeTransaction(db), async (transaction: any) => {
    const where = { accountId, folder };
    if (batch.reset) await destroyMessages(db, where, transaction);
    let deleted = 0;
    for (const ids of chunks(batch.deleted, 500)) {
      deleted += await destroyMessages(db, { ...where, providerId: { [Op.in]: ids } }, transaction);
    }
    let changed = 0;
    for (const change of batch.changed) {
      const [n] = await Messages.update(
        { flags: change.flags, seen: change.flags.includes('\\Seen') },
        { where: { ...where, providerId: change.providerId }, transaction },
      );
      changed += n;
    }
    const fresh = await withoutStored(db, accountId, folder, batch.added, transaction);
    const sentCopies =
      direction === 'out' ? await adoptOutgoingCopies(db, accountId, folder, fresh, transaction) : new Set<SyncedMessage>();
    const toInsert = fresh.filter((m) => !sentCopies.has(m));
    const threadOf = await assignThreads(db, accountId, toInsert, transaction);
    const rows = toInsert.map((m) => toRow(accountId, folder, m, threadOf.get(m)!, direction));
    const ids = await insertRows(db, 'mailMessages', rows, transaction);
    const idOf = new Map(toInsert.map((m, i) => [m.providerId, ids[i]]));
    await storeAttachmentMeta(db, toInsert, idOf, transaction);
    await refreshThreadStats(db, [...threadOf.values()], transaction);
    await saveCursor(db, accountId, folder, batch, transaction);
    return { added: toInsert.length, changed, deleted, addedIds: ids, addedRows: rows.map((row, i) => messageRowFromValues(ids[i], row)) };
  });
}

async function destroyMessages(db: any, where: any, transaction: any): Promise<number> {
  const Messages = db.getModel('mailMessages');
  const ids = (await Messages.findAll({ attributes: ['id'], where, transaction, raw: true })).map((r: any) => r.id);
  for (const part of chunks(ids, 500)) {
    await destroyAttachmentRows(db, { mailMessageId: { [Op.in]: part } }, transaction);
  }
  return Messages.destroy({ where, transaction });
}

async function withoutStored(db: any, accountId: string, folder: string, added: SyncedMessage[], transaction: any) {
  const stored = await knownProviderIds(db, accountId, folder, added.map((m) => m.providerId), transaction);
  const seen = new Set<string>();
  return added.filter((m) => !stored.has(m.providerId) && !seen.has(m.providerId) && seen.add(m.providerId));
}

// A mail we sent is stored at once (providerId "outbox:<id>"); when the sync later meets its copy in the Sent
// folder, that row takes the copy's folder and id instead of a second row being added. A copy that arrives in the
// inbox, e.g. a mail to oneself, is a received mail of its own. Answers the adopted copies.
async function adoptOutgoingCopies(db: any, accountId: string, folder: string, fresh: SyncedMessage[], transaction: any) {
  const withIds = fresh.filter((m) => m.messageId);
  const adopted = new Set<SyncedMessage>();
  if (!withIds.length) return adopted;
  const Messages = db.getModel('mailMessages');
  const idOf = new Map<string, string>();
  const entryIds: string[] = [];
  const pending = await Messages.findAll({
    where: {
      accountId,
      direction: 'out',
      providerId: { [Op.like]: 'outbox:%' },
      messageId: { [Op.in]: withIds.map((m) => m.messageId) },
    },
    transaction,
  });
  for (const row of pending) {
    const copy = withIds.find((m) => m.messageId === row.get('messageId'));
    if (!copy) continue;
    entryIds.push(outboxEntryIdOf(row.get('providerId'))!);
    await row.update({ folder, providerId: copy.providerId, flags: copy.flags, size: copy.size }, { transaction });
    adopted.add(copy);
    idOf.set(copy.providerId, String(row.get('id')));
  }
  if (!adopted.size) return adopted;
  await storeAttachmentMeta(db, await copiesTakingOverFiles(db, [...adopted], idOf, transaction), idOf, transaction);
  for (const entryId of entryIds) await dropOutboxContent(db, entryId, null, transaction);
  return adopted;
}

// The files of an adopted mail: where the file manager keeps them all, they stay (the mail as it was sent); else the
// copy's attachment rows replace the outbox's, and the mailbox holds the files from now on.
async function copiesTakingOverFiles(db: any, adopted: SyncedMessage[], idOf: Map<string, string>, transaction: any) {
  const Attachments = db.getModel('mailAttachments');
  const rows = await Attachments.findAll({ attributes: ['mailMessageId', 'fileId'], where: outboxPartsOf([...idOf.values()]), transaction, raw: true });
  const kept = new Set<string>(rows.map((row: any) => String(row.mailMessageId)));
  for (const row of rows) if (!row.fileId) kept.delete(String(row.mailMessageId));
  const takingOver = adopted.filter((m) => !kept.has(idOf.get(m.providerId)!));
  const ids = takingOver.map((m) => idOf.get(m.providerId)!);
  if (ids.length) await destroyAttachmentRows(db, outboxPartsOf(ids), transaction);
  return takingOver;
}

async function storeAttachmentMeta(db: any, messages: SyncedMessage[], idOf: Map<string, string>, transaction: any) {
  const withAttachments = messages.filter((m) => m.attachments.length);
  if (!withAttachments.length) return;
  const rows = withAttachments.flatMap((m) =>
    m.attachments.map((a) => ({
      mailMessageId: idOf.get(m.providerId),
      filename: a.filename ?? null,
      contentType: a.contentType,
      size: a.size,
      partId: a.partId,
      cid: a.cid ?? null,
      disposition: a.disposition,
    })),
  );
  await insertRows(db, 'mailAttachments', rows, transaction);
}

async function saveCursor(db: any, accountId: string, folder: string, batch: SyncBatch, transaction: any) {
  const State = db.getModel('mailSyncState');
  const existing = await State.findOne({ where: { accountId, folder }, transaction });
  const values = { cursor: batch.cursor, lastSyncAt: new Date() };
  if (existing) await existing.update(values, { transaction });
  else await State.create({ accountId, folder, ...values }, { transaction });
}

/** Which of these provider ids are stored already (Graph reports changes of known mail as new items). */
export async function knownProviderIds(db: any, accountId: string, folder: string, providerIds: string[], transaction?: any) {
  const known = new Set<string>();
  for (const ids of chunks(providerIds, 500)) {
    const rows = await db.getModel('mailMessages').findAll({
      attributes: ['providerId'],
      where: { accountId, folder, providerId: { [Op.in]: ids } },
      transaction,
      raw: true,
    });
    rows.forEach((r: any) => known.add(r.providerId));
  }
  return known;
}
