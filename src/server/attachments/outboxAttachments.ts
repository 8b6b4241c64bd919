import { Readable } from 'node:stream';
import { Op } from '@nocobase/database';
import type { DownloadedAttachment } from '@mailbridge/mail-core';
import type { StoredOutgoingMessage } from '../sending/outgoingMessage';

// A mail sent from Mailbridge is stored at once, and an account without a synced Sent folder (SMTP only, SES,
// SendGrid) never gets a copy to read its files from. Its attachment rows point into the outbox entry instead,
// which keeps the files for retries anyway: partId "outbox:<entryId>:<index>". When the sync adopts a Sent copy,
// the copy's rows replace these.
const PREFIX = 'outbox:';

export const isOutboxPart = (partId: unknown): boolean => typeof partId === 'string' && partId.startsWith(PREFIX);

/** Where-clause of the outbox's attachment rows of these messages. */
export const outboxPartsOf = (mailMessageIds: string[]) => ({ mailMessageId: { [Op.in]: mailMessageIds }, partId: { [Op.like]: `${PREFIX}%` } });

export function outboxAttachmentRows(mailMessageId: string, entryId: string, message: StoredOutgoingMessage) {
  return (message.attachments ?? []).map((file, index) => ({
    mailMessageId,
    filename: file.filename || null,
    contentType: file.contentType || 'application/octet-stream',
    size: Buffer.byteLength(file.contentBase64, 'base64'),
    partId: `${PREFIX}${entryId}:${index}`,
    cid: file.cid ?? null,
    disposition: file.cid ? 'inline' : 'attachment',
  }));
}

export async function openOutboxAttachment(db: any, partId: string): Promise<DownloadedAttachment & { size: number }> {
  const [entryId, index] = partId.slice(PREFIX.length).split(':');
  const entry: any = await db.getModel('mailOutbox').findByPk(entryId);
  const file = (entry?.get('message') as StoredOutgoingMessage | undefined)?.attachments?.[Number(index)];
  if (!file) throw new Error('The file is no longer in the outbox, which kept the files of this sent mail.');
  const content = Buffer.from(file.contentBase64, 'base64');
  return {
    stream: Readable.from([content]),
    contentType: file.contentType || 'application/octet-stream',
    filename: file.filename,
    size: content.length,
  };
}
