import type { Application } from '@nocobase/server';
import type { MailService } from '../mailService';
import { usableAccountOr404 } from '../accounts/accountAccess';
import { mailErrorText } from '../mailErrorText';

const NS = '@mailbridge/plugin-mail';

function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

// Streams an attachment from the mailbox to the browser (never buffered whole), after checking that the signed-in
// user may use the message's account.
export function registerAttachmentActions(app: Application, mail: MailService) {
  app.resourceManager.registerActionHandlers({
    'mailAttachments:download': async (ctx: any, next: () => Promise<void>) => {
      const attachment: any = await app.db.getModel('mailAttachments').findByPk(ctx.action.params.filterByTk);
      if (!attachment) ctx.throw(404, ctx.t('Attachment not found', { ns: NS }));
      const message: any = await app.db.getModel('mailMessages').findByPk(attachment.get('mailMessageId'));
      if (!message) ctx.throw(404, ctx.t('Attachment not found', { ns: NS }));
      const account = await usableAccountOr404(ctx, message.get('accountId'));
      const source = await mail.engine.source(account);
      try {
        const download = await source.downloadAttachment(
          message.get('folder'),
          message.get('providerId'),
          attachment.get('partId'),
        );
        const filename = attachment.get('filename') || download.filename || 'attachment';
        ctx.withoutDataWrapping = true;
        ctx.set('Content-Type', attachment.get('contentType') || download.contentType || 'application/octet-stream');
        ctx.set('Content-Disposition', contentDisposition(filename));
        ctx.set('X-Content-Type-Options', 'nosniff');
        ctx.body = download.stream;
        const close = () => void source.close().catch(() => undefined);
        download.stream.once('end', close);
        download.stream.once('error', close);
        download.stream.once('close', close);
      } catch (err: any) {
        await source.close().catch(() => undefined);
        ctx.throw(502, mailErrorText(err));
      }
      await next();
    },
  });
}
