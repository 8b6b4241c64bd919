import type { DownloadedAttachment, MailSource } from '@mailbridge/mail-core';
import type { MailService } from '../mailService';
import { usableAccountOr404 } from '../accounts/accountAccess';

const NS = '@mailbridge/plugin-mail';

export interface StoredAttachment {
  attachment: any;
  message: any;
  account: any;
}

/** A stored mail attachment with its message and account; a 404 unless the signed-in user may use that account. */
export async function usableAttachmentOr404(ctx: any, attachmentId: unknown): Promise<StoredAttachment> {
  const attachment: any = attachmentId ? await ctx.db.getModel('mailAttachments').findByPk(attachmentId) : null;
  if (!attachment) ctx.throw(404, ctx.t('Attachment not found', { ns: NS }));
  const message: any = await ctx.db.getModel('mailMessages').findByPk(attachment.get('mailMessageId'));
  if (!message) ctx.throw(404, ctx.t('Attachment not found', { ns: NS }));
  const account = await usableAccountOr404(ctx, message.get('accountId'));
  return { attachment, message, account };
}

/** Starts reading the attachment from its mailbox; the caller closes `source` when done with the stream. */
export async function openStoredAttachment(mail: MailService, stored: StoredAttachment): Promise<{ source: MailSource; download: DownloadedAttachment }> {
  const source = await mail.engine.source(stored.account);
  try {
    const download = await source.downloadAttachment(
      stored.message.get('folder'),
      stored.message.get('providerId'),
      stored.attachment.get('partId'),
    );
    return { source, download };
  } catch (err) {
    await source.close().catch(() => undefined);
    throw err;
  }
}
