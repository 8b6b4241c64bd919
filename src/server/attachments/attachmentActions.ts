import type { Application } from '@nocobase/server';
import type { MailService } from '../mailService';
import { openStoredAttachment, usableAttachmentOr404 } from './storedAttachment';
import { mailErrorText } from '../mailErrorText';

function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

// Streams an attachment from the mailbox (or, for a sent mail, the outbox) to the browser, after checking that the
// signed-in user may use the message's account. A mailbox's file is never buffered whole.
export function registerAttachmentActions(app: Application, mail: MailService) {
  app.resourceManager.registerActionHandlers({
    'mailAttachments:download': async (ctx: any, next: () => Promise<void>) => {
      const stored = await usableAttachmentOr404(ctx, ctx.action.params.filterByTk);
      let opened;
      try {
        opened = await openStoredAttachment(mail, stored);
      } catch (err: any) {
        ctx.throw(502, mailErrorText(err));
      }
      const { download, close: closeSource } = opened!;
      const { attachment } = stored;
      const filename = attachment.get('filename') || download.filename || 'attachment';
      ctx.withoutDataWrapping = true;
      ctx.set('Content-Type', attachment.get('contentType') || download.contentType || 'application/octet-stream');
      ctx.set('Content-Disposition', contentDisposition(filename));
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.body = download.stream;
      if (download.size !== undefined) ctx.length = download.size;
      const close = () => void closeSource();
      download.stream.once('end', close);
      download.stream.once('error', close);
      download.stream.once('close', close);
      await next();
    },
  });
}
