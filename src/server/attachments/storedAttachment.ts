import type { DownloadedAttachment, MailSource } from '@mailbridge/mail-core';
import type { MailService } from '../mailService';
import { usableAccountOr404 } from '../accounts/accountAccess';
import { isOutboxPart, openOutboxAttachment } from './outboxAttachments';
import { openKeptFile } from './keptFiles';

const NS = '@mailbridge/plugin-mail';

export interface StoredAttachment {
  attachment: any;
  message: any;
  account: any;
}

/** A stored attachment opened for reading, named and typed by its row first, then by what its source says. */
export interface OpenedAttachment {
  stream: DownloadedAttachment['stream'];
  filename: string;
  contentType: string;
  /** Known for a file the outbox or the file manager holds; a mailbox part is streamed without it. */
  size?: number;
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

/**
 * Reads stored attachments from where they are kept: the file manager (fileId), the outbox (a sent mail's files
 * before they moved) or the mailbox. One after the other, on one mailbox session per account: a forward of five
 * files signs in once. Read each stream to its end before opening the next; close() ends the sessions.
 */
export class AttachmentReader {
  private sources = new Map<string, Promise<MailSource>>();

  constructor(
    private mail: MailService,
    private app: any,
  ) {}

  async open(stored: StoredAttachment): Promise<OpenedAttachment> {
    const partId = stored.attachment.get('partId');
    const fileId = stored.attachment.get('fileId');
    const file: DownloadedAttachment & { size?: number } = fileId
      ? await openKeptFile(this.app, String(fileId))
      : isOutboxPart(partId)
        ? await openOutboxAttachment(this.app.db, partId)
        : await this.fromMailbox(stored, partId);
    return {
      stream: file.stream,
      filename: stored.attachment.get('filename') || file.filename || 'attachment',
      contentType: stored.attachment.get('contentType') || file.contentType || 'application/octet-stream',
      size: file.size,
    };
  }

  async close(): Promise<void> {
    const sources = [...this.sources.values()];
    this.sources.clear();
    await Promise.all(sources.map((pending) => pending.then((source) => source.close()).catch(() => undefined)));
  }

  private async fromMailbox(stored: StoredAttachment, partId: string): Promise<DownloadedAttachment> {
    const source = await this.sourceOf(stored.account);
    return source.downloadAttachment(stored.message.get('folder'), stored.message.get('providerId'), partId);
  }

  private sourceOf(account: any): Promise<MailSource> {
    const key = String(account.get('id'));
    let source = this.sources.get(key);
    if (!source) {
      source = this.mail.engine.source(account);
      this.sources.set(key, source);
      source.catch(() => this.sources.delete(key));
    }
    return source;
  }
}
