import type { Application } from '@nocobase/server';
import { Op } from '@nocobase/database';
import { requireMailUser, usableAccountIds, usableAccountOr404 } from '../accounts/accountAccess';
import type { MailService } from '../mailService';
import { parseSendValues } from '../sending/sendValues';
import { writeSeenBack } from './seenWriteBack';
import { publicOutboxEntry } from '../sending/outboxActions';
import { mailErrorText } from '../mailErrorText';
import { canReceive } from '../accounts/engineConfig';
import { DEFAULT_SENT_FOLDER } from '../sending/outbox';
import { withForwardedAttachments } from './forwardedAttachments';

const NS = '@mailbridge/plugin-mail';
const LIST_FIELDS = [
  'id',
  'accountId',
  'folder',
  'threadId',
  'direction',
  'from',
  'to',
  'subject',
  'date',
  'snippet',
  'seen',
  'flags',
  'hasAttachments',
  'size',
  'messageId',
  'parseError',
];

// Everything here is filtered to the accounts the signed-in user may use; an account the user may not use
// answers like one that does not exist.
export function registerMessageActions(app: Application, mail: MailService) {
  const accountFor = usableAccountOr404;

  app.resourceManager.registerActionHandlers({
    'mailMessages:list': async (ctx: any, next: () => Promise<void>) => {
      const user = await requireMailUser(ctx);
      const { accountId, folder, threadId, q } = ctx.action.params;
      const page = Math.max(1, Number(ctx.action.params.page ?? 1));
      const pageSize = Math.min(200, Math.max(1, Number(ctx.action.params.pageSize ?? 50)));
      const allowed = await usableAccountIds(app.db, user);
      const where: any = {};
      if (allowed) where.accountId = { [Op.in]: allowed };
      if (accountId) where.accountId = allowed && !allowed.includes(String(accountId)) ? '-1' : accountId;
      if (folder) where.folder = folder;
      if (threadId) where.threadId = threadId;
      if (q) {
        const like = `%${String(q).replace(/[%_]/g, '')}%`;
        where[Op.or] = [{ subject: { [Op.like]: like } }, { fromAddress: { [Op.like]: like.toLowerCase() } }];
      }
      const Messages = app.db.getModel('mailMessages');
      const [rows, count] = await Promise.all([
        Messages.findAll({
          attributes: LIST_FIELDS,
          where,
          order: [
            ['date', 'DESC'],
            ['id', 'DESC'],
          ],
          limit: pageSize,
          offset: (page - 1) * pageSize,
        }),
        Messages.count({ where }),
      ]);
      ctx.body = {
        rows: rows.map((r: any) => r.toJSON()),
        count,
        page,
        pageSize,
        totalPage: Math.ceil(count / pageSize),
      };
      await next();
    },

    // The folders of an account with their totals, for the inbox's folder list.
    'mailMessages:folders': async (ctx: any, next: () => Promise<void>) => {
      const account = await accountFor(ctx, ctx.action.params.accountId);
      const accountId = String(account.get('id'));
      const Messages = app.db.getModel('mailMessages');
      const counts = await Messages.findAll({
        attributes: ['folder', [app.db.sequelize.fn('COUNT', app.db.sequelize.col('id')), 'total']],
        where: { accountId },
        group: ['folder'],
        raw: true,
      });
      const unread = await Messages.findAll({
        attributes: ['folder', [app.db.sequelize.fn('COUNT', app.db.sequelize.col('id')), 'unread']],
        where: { accountId, seen: false, direction: 'in' },
        group: ['folder'],
        raw: true,
      });
      const states = await app.db.getModel('mailSyncState').findAll({ where: { accountId }, raw: true });
      const folders = new Map<string, any>();
      for (const s of states as any[])
        folders.set(s.folder, { folder: s.folder, specialUse: s.specialUse ?? null, total: 0, unread: 0 });
      // a send-only account has no synced folders, only the one the outbox files its sent mail in
      if (!canReceive(account.get('provider')) && !folders.has(DEFAULT_SENT_FOLDER)) {
        folders.set(DEFAULT_SENT_FOLDER, { folder: DEFAULT_SENT_FOLDER, specialUse: 'sent', total: 0, unread: 0 });
      }
      for (const c of counts as any[])
        folders.set(c.folder, {
          specialUse: c.folder === DEFAULT_SENT_FOLDER ? 'sent' : null,
          unread: 0,
          ...folders.get(c.folder),
          folder: c.folder,
          total: Number(c.total),
        });
      for (const u of unread as any[]) folders.get(u.folder).unread = Number(u.unread);
      const order = ['inbox', 'sent', 'drafts', 'junk', 'trash', 'archive'];
      const rank = (f: any) => (f.specialUse ? order.indexOf(f.specialUse) : order.length);
      ctx.body = [...folders.values()].sort((a, b) => rank(a) - rank(b) || a.folder.localeCompare(b.folder));
      await next();
    },

    // Read state as the user sets it: stored at once, then written back to the mailbox (\Seen, Graph isRead); the
    // answer says whether that worked (writtenBack, error).
    'mailMessages:markSeen': async (ctx: any, next: () => Promise<void>) => {
      const message: any = await app.db.getModel('mailMessages').findByPk(ctx.action.params.filterByTk);
      if (!message) ctx.throw(404, ctx.t('Mail not found', { ns: NS }));
      const account = await accountFor(ctx, message.get('accountId'));
      const seen = ctx.action.params.values?.seen !== false;
      const flags = (message.get('flags') ?? []).filter((f: string) => f !== '\\Seen');
      await message.update({ seen, flags: seen ? [...flags, '\\Seen'] : flags });
      ctx.body = { id: message.get('id'), seen, ...(await writeSeenBack(app, mail, account, message, seen)) };
      await next();
    },

    'mailMessages:get': async (ctx: any, next: () => Promise<void>) => {
      const message: any = await app.db.getModel('mailMessages').findByPk(ctx.action.params.filterByTk, {
        include: [{ association: 'attachments' }],
      });
      if (!message) ctx.throw(404, ctx.t('Mail not found', { ns: NS }));
      await accountFor(ctx, message.get('accountId'));
      ctx.body = message.toJSON();
      await next();
    },

    // Queues the mail in the outbox and, unless `wait` is false, waits until the provider accepted or refused it.
    'mailMessages:send': async (ctx: any, next: () => Promise<void>) => {
      const values = ctx.action.params.values ?? {};
      const account = await accountFor(ctx, values.accountId);
      values.attachments = await withForwardedAttachments(ctx, mail, values.attachments);
      let message;
      try {
        message = parseSendValues(account.toJSON(), values);
      } catch (err: any) {
        ctx.throw(400, err.message);
      }
      // The request log writes the params: keep attachment contents out of it.
      if (Array.isArray(values.attachments)) {
        values.attachments = values.attachments.map((a: any) => ({
          filename: a?.filename,
          bytes: String(a?.contentBase64 ?? '').length,
        }));
      }
      let entry: any;
      try {
        entry = await mail.outbox.enqueue({
          accountId: String(account.get('id')),
          message: message!,
          source: values.source === 'ui' ? 'ui' : 'api',
          createdById: ctx.state.currentUser.id,
          link:
            values.record?.collection && values.record?.id
              ? { collection: values.record.collection, recordId: values.record.id }
              : undefined,
        });
      } catch (err: any) {
        ctx.throw(400, mailErrorText(err));
      }
      if (values.wait !== false) {
        await mail.outbox.process(String(entry.get('id')));
        entry = await mail.outbox.waitForSettled(String(entry.get('id')), 60_000);
      } else {
        void mail.outbox.drain();
      }
      ctx.body = publicOutboxEntry(entry);
      await next();
    },
  });
}
