import { Readable } from 'node:stream';
import { Op } from '@nocobase/database';
import type { DownloadedAttachment } from '@mailbridge/mail-core';
import type { StoredAttachment, StoredOutgoingMessage } from '../sending/outgoingMessage';
import { fileManagerOf, keepFile, removeKeptFiles } from './keptFiles';

// A mail sent from Mailbridge is stored at once, with attachment rows that point into its outbox entry, which
// holds the files for retries anyway: partId "outbox:<entryId>:<index>". Once the mail is out, the files move into
// NocoBase's file manager (the rows get a fileId) and the entry keeps only their names; without the file manager
// they stay in the entry. An account without a synced Sent folder (SMTP only, SES, SendGrid) never has another
// copy. When the sync adopts a Sent copy of a mail whose files did not move, the copy's rows replace these.
const PREFIX = 'outbox:';

export const isOutboxPart = (partId: unknown): boolean => typeof partId === 'string' && partId.startsWith(PREFIX);

const outboxPartId = (entryId: string, index: number) => `${PREFIX}${entryId}:${index}`;

/** The entry and the index of its file that an outbox partId "outbox:<entryId>:<index>" names. */
function outboxPart(partId: string): { entryId: string; index: number } {
  const [entryId, index] = partId.slice(PREFIX.length).split(':');
  return { entryId, index: Number(index) };
}

/** Where-clause of the outbox's attachment rows of these messages. */
export const outboxPartsOf = (mailMessageIds: string[]) => ({ mailMessageId: { [Op.in]: mailMessageIds }, partId: { [Op.like]: `${PREFIX}%` } });

export function outboxAttachmentRows(mailMessageId: string, entryId: string, message: StoredOutgoingMessage) {
  return (message.attachments ?? []).map((file, index) => ({
    mailMessageId,
    filename: file.filename || null,
    contentType: file.contentType || 'application/octet-stream',
    size: file.contentBase64 === undefined ? (file.size ?? null) : Buffer.byteLength(file.contentBase64, 'base64'),
    partId: outboxPartId(entryId, index),
    cid: file.cid ?? null,
    disposition: file.cid ? 'inline' : 'attachment',
  }));
}

export async function openOutboxAttachment(db: any, partId: string): Promise<DownloadedAttachment & { size: number }> {
  const { entryId, index } = outboxPart(partId);
  const entry: any = await db.getModel('mailOutbox').findByPk(entryId);
  const file = (entry?.get('message') as StoredOutgoingMessage | undefined)?.attachments?.[index];
  if (!file || file.contentBase64 === undefined) throw new Error('The file is no longer in the outbox, which kept the files of this sent mail.');
  const content = Buffer.from(file.contentBase64, 'base64');
  return {
    stream: Readable.from([content]),
    contentType: file.contentType || 'application/octet-stream',
    filename: file.filename,
    size: content.length,
  };
}

/** An outbox file without its content, which is kept elsewhere from now on. */
function withoutContent(file: StoredAttachment): StoredAttachment {
  if (file.contentBase64 === undefined) return file;
  const { contentBase64, ...rest } = file;
  return { ...rest, size: Buffer.byteLength(contentBase64, 'base64') };
}

/** Drops the content of a sent entry's files (those at `indexes`, or all), keeping their names and sizes. */
export async function dropOutboxContent(db: any, entryId: string, indexes: Set<number> | null, transaction?: any) {
  const Outbox = db.getModel('mailOutbox');
  const entry = await Outbox.findByPk(entryId, { transaction });
  const message: StoredOutgoingMessage | undefined = entry?.get('message');
  if (!message?.attachments?.some((file) => file.contentBase64 !== undefined)) return;
  const attachments = message.attachments.map((file, i) => (!indexes || indexes.has(i) ? withoutContent(file) : file));
  await Outbox.update({ message: { ...message, attachments } }, { where: { id: entryId }, transaction, hooks: false });
}

/** The outbox entry a stored sent mail came from, by its providerId "outbox:<entryId>". */
export const outboxEntryIdOf = (providerId: unknown): string | null =>
  typeof providerId === 'string' && providerId.startsWith(PREFIX) ? providerId.slice(PREFIX.length) : null;

/**
 * Moves the files of sent entries into the file manager, when it is enabled: each stored attachment row gets the
 * fileId of its copy, then the entry drops the content. A file the file manager refuses stays in the entry.
 */
export async function moveSentFiles(app: any, entries: any[]): Promise<void> {
  const fileManager = fileManagerOf(app);
  if (!fileManager) return;
  const Attachments = app.db.getModel('mailAttachments');
  for (const entry of entries) {
    const files: StoredAttachment[] = entry.get('message')?.attachments ?? [];
    if (entry.get('state') !== 'sent' || !files.some((file) => file.contentBase64 !== undefined)) continue;
    const entryId = String(entry.get('id'));
    // by the exact part ids, which the index on partId finds (a LIKE would read the whole table)
    const partIds = files.map((_, index) => outboxPartId(entryId, index));
    const rows = await Attachments.findAll({ where: { partId: { [Op.in]: partIds }, fileId: null } });
    const moved = new Set<number>();
    for (const row of rows) {
      const { index } = outboxPart(row.get('partId'));
      const file = files[index];
      if (file?.contentBase64 === undefined) continue;
      try {
        const content = Buffer.from(file.contentBase64, 'base64');
        const fileId = await keepFile(fileManager, { filename: file.filename, contentType: row.get('contentType'), content });
        // the sync may have replaced the row with a Sent copy's meanwhile
        const [updated] = await Attachments.update({ fileId }, { where: { id: row.get('id'), fileId: null }, hooks: false });
        if (updated === 1) moved.add(index);
        else await removeKeptFiles(app.db, [fileId]);
      } catch (err: any) {
        app.log.warn(`mail ${entry.get('messageId')}: the file "${file.filename}" stays in the outbox, the file manager did not take it: ${err.message}`);
      }
    }
    if (moved.size) await dropOutboxContent(app.db, entryId, moved);
  }
}

/**
 * Sent entries whose files are still in the outbox, though the file manager could take them: sent before it was
 * enabled, refused by its storage, or by a node that stopped first. Moves those of up to `limit` entries and answers
 * how many entries it looked at.
 */
export async function moveLeftoverSentFiles(app: any, limit = 100): Promise<number> {
  if (!fileManagerOf(app)) return 0;
  const rows = await app.db
    .getModel('mailAttachments')
    .findAll({ attributes: ['partId'], where: { partId: { [Op.like]: `${PREFIX}%` }, fileId: null }, order: [['id', 'ASC']], limit: limit * 10, raw: true });
  const entryIds = [...new Set(rows.map((row: any) => outboxPart(String(row.partId)).entryId))].slice(0, limit);
  if (!entryIds.length) return 0;
  const entries = await app.db.getModel('mailOutbox').findAll({ where: { id: { [Op.in]: entryIds }, state: 'sent' } });
  await moveSentFiles(app, entries);
  return entries.length;
}
