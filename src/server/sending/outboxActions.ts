import type { Application } from '@nocobase/server';
import { Op } from '@nocobase/database';
import { requireMailUser, usableAccountIds, usableAccountOr404 } from '../accounts/accountAccess';
import type { MailService } from '../mailService';

const NS = '@mailbridge/plugin-mail';
/** What the outbox shows: mails not yet accepted by the provider. Sent ones live in the Sent folder. */
const WAITING_STATES = ['queued', 'sending', 'failed'];

/** An outbox entry as the API shows it: the mail's headers, never its body or attachment contents. */
export function publicOutboxEntry(entry: any) {
  const { message, ...rest } = entry.toJSON();
  return {
    ...rest,
    subject: message?.subject,
    to: message?.to,
    cc: message?.cc ?? [],
    attachmentCount: Array.isArray(message?.attachments) ? message.attachments.length : 0,
  };
}

// Outbox entries are scoped like mail: by the accounts the signed-in user may use.
export function registerOutboxActions(app: Application, mail: MailService) {
  const Outbox = () => app.db.getModel('mailOutbox');

  async function entryOr404(ctx: any) {
    const entry: any = await Outbox().findByPk(ctx.action.params.filterByTk);
    if (!entry) ctx.throw(404, ctx.t('Outbox entry not found', { ns: NS }));
    await usableAccountOr404(ctx, entry.get('accountId'));
    return entry;
  }

  app.resourceManager.registerActionHandlers({
    // The mails of an account (or of every usable account) that are not sent yet, newest first; meta.failed
    // counts the ones that wait for a person.
    'mailOutbox:list': async (ctx: any, next: () => Promise<void>) => {
      const user = await requireMailUser(ctx);
      const { accountId } = ctx.action.params;
      const page = Math.max(1, Number(ctx.action.params.page ?? 1));
      const pageSize = Math.min(200, Math.max(1, Number(ctx.action.params.pageSize ?? 50)));
      const where: any = { state: { [Op.in]: WAITING_STATES } };
      if (accountId) where.accountId = String((await usableAccountOr404(ctx, accountId)).get('id'));
      else {
        const allowed = await usableAccountIds(app.db, user);
        if (allowed) where.accountId = { [Op.in]: allowed };
      }
      const [rows, count, failed] = await Promise.all([
        Outbox().findAll({
          where,
          order: [
            ['createdAt', 'DESC'],
            ['id', 'DESC'],
          ],
          limit: pageSize,
          offset: (page - 1) * pageSize,
        }),
        Outbox().count({ where }),
        Outbox().count({ where: { ...where, state: 'failed' } }),
      ]);
      ctx.body = { rows: rows.map(publicOutboxEntry), count, failed, page, pageSize, totalPage: Math.ceil(count / pageSize) };
      await next();
    },

    // Sends a failed mail again, with the Message-ID it was queued with, and answers with how that went.
    'mailOutbox:retry': async (ctx: any, next: () => Promise<void>) => {
      const entry = await entryOr404(ctx);
      if (!(await mail.outbox.retry(String(entry.get('id'))))) {
        ctx.throw(409, ctx.t('Only a failed mail can be retried', { ns: NS }));
      }
      const settled = await mail.outbox.process(String(entry.get('id')));
      ctx.body = publicOutboxEntry(settled);
      await next();
    },

    // Drops a failed mail, or one waiting for its next attempt, for good. Mails being sent or due now are not the
    // user's to drop: they may be on their way.
    'mailOutbox:discard': async (ctx: any, next: () => Promise<void>) => {
      const entry = await entryOr404(ctx);
      if (!(await mail.outbox.discard(String(entry.get('id'))))) {
        ctx.throw(409, ctx.t('Only a failed mail or one waiting for its next attempt can be discarded', { ns: NS }));
      }
      ctx.body = { id: entry.get('id'), discarded: true };
      await next();
    },
  });
}
