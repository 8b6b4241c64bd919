import type { Application } from '@nocobase/server';
import { Op } from '@nocobase/database';
import { currentMailUser, isMailAdmin, MailUser, mayUseAccount, usableAccountIds } from '../accounts/accountAccess';
import { addLinks } from './linkStore';
import { collectionOf, recordExists } from './records';

const NS = '@mailbridge/plugin-mail';
const MESSAGE_FIELDS = [
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
  'hasAttachments',
];

async function requireUser(ctx: any): Promise<MailUser> {
  const user = await currentMailUser(ctx);
  if (!user) ctx.throw(401, ctx.t('Please sign in', { ns: NS }));
  return user!;
}

// A record's mail history and filing by hand. Users see and change only threads of accounts they may use, and
// only for collections their role may view.
export function registerLinkActions(app: Application) {
  const db: any = app.db;

  const mayViewCollection = (user: MailUser, collection: string) =>
    isMailAdmin(user) || Boolean(app.acl.can({ roles: user.roleNames, resource: collection, action: 'view' }));

  const requireRecord = async (ctx: any, user: MailUser, collection: unknown, recordId: unknown) => {
    if (
      typeof collection !== 'string' ||
      !collection ||
      recordId === undefined ||
      recordId === null ||
      recordId === ''
    ) {
      ctx.throw(400, ctx.t('Give the record as collection and recordId', { ns: NS }));
    }
    if (!collectionOf(db, collection as string) || !mayViewCollection(user, collection as string)) {
      ctx.throw(404, ctx.t('Record not found', { ns: NS }));
    }
    return { collection: collection as string, recordId: String(recordId) };
  };

  const usableThread = async (ctx: any, user: MailUser, threadId: unknown) => {
    const thread = threadId ? await db.getModel('mailThreads').findByPk(threadId) : null;
    const account = thread
      ? await db
          .getModel('mailAccounts')
          .findByPk(thread.get('accountId'), { attributes: ['id', 'userIds', 'roleNames'] })
      : null;
    if (!thread || !account || !mayUseAccount(user, account.toJSON()))
      ctx.throw(404, ctx.t('Mail not found', { ns: NS }));
    return thread;
  };

  app.resourceManager.registerActionHandlers({
    // The threads filed on one record, newest first, each with its last message.
    'mailLinks:list': async (ctx: any, next: () => Promise<void>) => {
      const user = await requireUser(ctx);
      const params = ctx.action.params;
      const { collection, recordId } = await requireRecord(
        ctx,
        user,
        params.collection,
        params.recordId ?? params.filterByTk,
      );
      const page = Math.max(1, Number(params.page ?? 1));
      const pageSize = Math.min(200, Math.max(1, Number(params.pageSize ?? 20)));
      const links = await db
        .getModel('mailLinks')
        .findAll({ where: { collection, recordId }, order: [['id', 'ASC']], raw: true });
      const linkOf = new Map<string, any>();
      for (const l of links) if (!linkOf.has(String(l.threadId))) linkOf.set(String(l.threadId), l);
      const allowed = await usableAccountIds(db, user);
      const where: any = { id: { [Op.in]: [...linkOf.keys()] } };
      if (allowed) where.accountId = { [Op.in]: allowed };
      const Threads = db.getModel('mailThreads');
      const [threads, count] = await Promise.all([
        Threads.findAll({
          where,
          order: [
            ['lastMessageAt', 'DESC'],
            ['id', 'DESC'],
          ],
          limit: pageSize,
          offset: (page - 1) * pageSize,
        }),
        Threads.count({ where }),
      ]);
      const rows = [];
      for (const thread of threads) {
        const last = await db.getModel('mailMessages').findOne({
          attributes: MESSAGE_FIELDS,
          where: { threadId: thread.get('id') },
          order: [
            ['date', 'DESC'],
            ['id', 'DESC'],
          ],
        });
        const link = linkOf.get(String(thread.get('id')));
        rows.push({
          ...thread.toJSON(),
          lastMessage: last ? last.toJSON() : null,
          link: {
            id: link.id,
            linkedBy: link.linkedBy,
            createdAt: link.createdAt,
            createdById: link.createdById ?? null,
          },
        });
      }
      ctx.body = { rows, count, page, pageSize, totalPage: Math.ceil(count / pageSize) };
      await next();
    },

    // Files a thread (given by itself or by one of its messages) on a record by hand.
    'mailLinks:create': async (ctx: any, next: () => Promise<void>) => {
      const user = await requireUser(ctx);
      const values = ctx.action.params.values ?? {};
      const { collection, recordId } = await requireRecord(ctx, user, values.collection, values.recordId);
      let threadId = values.threadId;
      let mailMessageId = values.mailMessageId ?? null;
      if (mailMessageId) {
        const message = await db.getModel('mailMessages').findByPk(mailMessageId, { attributes: ['id', 'threadId'] });
        if (!message) ctx.throw(404, ctx.t('Mail not found', { ns: NS }));
        threadId = message.get('threadId');
      }
      const thread = await usableThread(ctx, user, threadId);
      if (!(await recordExists(db, collection, recordId))) ctx.throw(404, ctx.t('Record not found', { ns: NS }));
      await addLinks(db, [
        {
          threadId: String(thread.get('id')),
          accountId: String(thread.get('accountId')),
          mailMessageId: mailMessageId ? String(mailMessageId) : null,
          collection,
          recordId,
          linkedBy: 'manual',
          createdById: user.id,
        },
      ]);
      const link = await db
        .getModel('mailLinks')
        .findOne({ where: { threadId: thread.get('id'), collection, recordId } });
      ctx.body = link.toJSON();
      await next();
    },

    // Removes a link: by its id (filterByTk), or by thread + collection + recordId.
    'mailLinks:destroy': async (ctx: any, next: () => Promise<void>) => {
      const user = await requireUser(ctx);
      const params = ctx.action.params;
      const values = params.values ?? {};
      const Links = db.getModel('mailLinks');
      let link: any = null;
      if (params.filterByTk) link = await Links.findByPk(params.filterByTk);
      else {
        const threadId = values.threadId ?? params.threadId;
        const collection = values.collection ?? params.collection;
        const recordId = values.recordId ?? params.recordId;
        if (threadId && collection && recordId !== undefined)
          link = await Links.findOne({ where: { threadId, collection, recordId: String(recordId) } });
      }
      if (!link) ctx.throw(404, ctx.t('Link not found', { ns: NS }));
      await usableThread(ctx, user, link.get('threadId'));
      if (!mayViewCollection(user, link.get('collection'))) ctx.throw(404, ctx.t('Link not found', { ns: NS }));
      await link.destroy();
      ctx.body = { ok: true };
      await next();
    },
  });
}
