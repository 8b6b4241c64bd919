import type { Application } from '@nocobase/server';
import { toPublicAccount } from './publicAccount';

// Collection actions return models; the secrets column must never reach a client, so list/get go through
// `toPublicAccount`, which says whether a secret is set instead of returning it.
export function registerAccountActions(app: Application) {
  app.resourceManager.registerActionHandlers({
    'mailAccounts:list': async (ctx: any, next: () => Promise<void>) => {
      const { page = 1, pageSize = 50 } = ctx.action.params;
      const repo = ctx.db.getRepository('mailAccounts');
      const [rows, count] = await repo.findAndCount({
        sort: ['title'],
        limit: Number(pageSize),
        offset: (Number(page) - 1) * Number(pageSize),
      });
      ctx.body = {
        rows: rows.map(toPublicAccount),
        count,
        page: Number(page),
        pageSize: Number(pageSize),
        totalPage: Math.ceil(count / Number(pageSize)),
      };
      await next();
    },
  });
}
