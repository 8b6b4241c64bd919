import type { DownloadedAttachment } from '@mailbridge/mail-core';
import type { MailService } from '../mailService';
import { usableAccountOr404 } from '../accounts/accountAccess';
import { isOutboxPart, openOutboxAttachment } from './outboxAttachments';

const NS = '@mailbridge/plugin-mail';

export interface StoredAttachment {
  attachment: any;
  message: any;
  account: any;
  db: any;
}

export interface OpenedAttachment {
  download: DownloadedAttachment & { size?: number };
  /** Ends the mailbox session the stream reads from (nothing to end for a file the outbox holds). */
  close(): Promise<void>;
}

/** A stored mail attachment with its message and account; a 404 unless the signed-in user may use that account. */
export async function usableAttachmentOr404(ctx: any, attachmentId: unknown): Promise<StoredAttachment> {
  const attachment: any = attachmentId ? await ctx.db.getModel('mailAttachments').findByPk(attachmentId) : null;
  if (!attachment) ctx.throw(404, ctx.t('Attachment not found', { ns: NS }));
  const message: any = await ctx.db.getModel('mailMessages').findByPk(attachment.get('mailMessageId'));
  if (!message) ctx.throw(404, ctx.t('Attachment not found', { ns: NS }));
  const account = await usableAccountOr404(ctx, message.get('accountId'));
  return { attachment, message, account, db: ctx.db };
}

/** Starts reading the attachment from its mailbox, or from the outbox for a sent mail; the caller closes it. */
export async function openStoredAttachment(mail: MailService, stored: StoredAttachment): Promise<OpenedAttachment> {
  const partId = stored.attachment.get('partId');
  if (isOutboxPart(partId)) {
    return { download: await openOutboxAttachment(stored.db, partId), close: async () => undefined };
  }
  const source = await mail.engine.source(stored.account);
  try {
    const download = await source.downloadAttachment(stored.message.get('folder'), stored.message.get('providerId'), partId);
    return { download, close: () => source.close().catch(() => undefined) };
  } catch (err) {
    await source.close().catch(() => undefined);
    throw err;
  }
}
