import type { Application } from '@nocobase/server';
import type { MailService } from '../mailService';
import { AttachmentReader, OpenedAttachment, usableAttachmentOr404 } from './storedAttachment';
import { mailErrorText } from '../mailErrorText';

function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

// Streams an attachment from where it is kept (the mailbox, the file manager, the outbox) to the browser, after
// checking that the signed-in user may use the message's account. A mailbox's file is never buffered whole.
export function registerAttachmentActions(app: Application, mail: MailService) {
  app.resourceManager.registerActionHandlers({
    'mailAttachments:download': async (ctx: any, next: () => Promise<void>) => {
      const stored = await usableAttachmentOr404(ctx, ctx.action.params.filterByTk);
      const reader = new AttachmentReader(mail, ctx.app);
      let download: OpenedAttachment;
      try {
        download = await reader.open(stored);
      } catch (err: any) {
        await reader.close();
        return ctx.throw(502, mailErrorText(err));
      }
      const { stream, size } = download;
      ctx.withoutDataWrapping = true;
      ctx.set('Content-Type', download.contentType);
      ctx.set('Content-Disposition', contentDisposition(download.filename));
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.body = stream;
      if (size !== undefined) ctx.length = size;
      const close = () => void reader.close();
      stream.once('end', close);
      stream.once('error', close);
      stream.once('close', close);
      await next();
    },
  });
}
