import type { Application } from '@nocobase/server';
import { toPublicAccount } from './publicAccount';
import { decryptSecrets, encryptSecrets, mergeSecrets } from './accountSecrets';
import { canReceive, PROVIDERS, StoredAccount } from './engineConfig';
import { mayConfigureMail, requireMailUser, usableAccountIds } from './accountAccess';
import type { MailService } from '../mailService';

const SYNC_NOW_WAIT_MS = 20_000;

// Settings the server writes after connecting a Microsoft account; a client's copy never overrides them.
const SERVER_OWNED_SETTINGS = ['homeAccountId', 'connectedAs', 'grantedScopes', 'missingScopes', 'redirectUri'];

const WRITABLE = ['title', 'provider', 'address', 'aliases', 'enabled', 'settings', 'userIds', 'roleNames'] as const;
const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+$/;

function pickWritable(values: Record<string, any>) {
  return Object.fromEntries(WRITABLE.filter((k) => k in values).map((k) => [k, values[k]]));
}

function validateAccount(ctx: any, values: Partial<StoredAccount> & { title?: string }, creating: boolean) {
  if (creating || 'provider' in values) {
    if (!PROVIDERS.includes(values.provider as any)) ctx.throw(400, ctx.t('Unknown provider', { ns: NS }));
  }
  if (creating || 'address' in values) {
    if (!ADDRESS.test(String(values.address ?? ''))) ctx.throw(400, ctx.t('Enter a valid e-mail address', { ns: NS }));
  }
  if (creating && !String(values.title ?? '').trim()) values.title = values.address;
}

const NS = '@mailbridge/plugin-mail';

type Handler = (ctx: any, next: () => Promise<void>) => Promise<void>;

/**
 * Takes the secrets out of the request: NocoBase's request log writes the action's params, so they must not
 * stay there once read.
 */
function takeSecrets(ctx: any): Record<string, string | null> {
  const values = ctx.action.params.values;
  const secrets = values?.secrets ?? {};
  if (values) delete values.secrets;
  return secrets;
}

function adminOnly(handlers: Record<string, Handler>): Record<string, Handler> {
  return Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      async (ctx: any, next: () => Promise<void>) => {
        if (!mayConfigureMail(ctx)) ctx.throw(403, ctx.t('No permissions', { ns: NS }));
        await handler(ctx, next);
      },
    ]),
  );
}

// Collection actions would return the encrypted column and accept anything; these go through the secrets
// module and answer with the public shape only.
export function registerAccountActions(app: Application, mail: MailService) {
  const repo = () => app.db.getRepository('mailAccounts');
  const findOr404 = async (ctx: any) => {
    const model = await repo().findOne({ filterByTk: ctx.action.params.filterByTk });
    if (!model) ctx.throw(404, ctx.t('Mail account not found', { ns: NS }));
    return model;
  };

  app.resourceManager.registerActionHandlers({
    // The accounts the signed-in user may use (every signed-in user may ask; admins get all), for the inbox.
    'mailAccounts:listUsable': async (ctx: any, next: () => Promise<void>) => {
      const user = await requireMailUser(ctx);
      const allowed = await usableAccountIds(app.db, user);
      const rows = await repo().find({ filter: allowed ? { id: { $in: allowed } } : {}, sort: ['title'] });
      ctx.body = rows.map((r: any) => {
        const { id, title, provider, address, aliases, status, enabled } = r.toJSON();
        return { id, title, provider, address, aliases, status, enabled, canReceive: canReceive(provider) };
      });
      await next();
    },
  });

  app.resourceManager.registerActionHandlers(
    adminOnly({
      'mailAccounts:list': async (ctx: any, next: () => Promise<void>) => {
        const page = Number(ctx.action.params.page ?? 1);
        const pageSize = Number(ctx.action.params.pageSize ?? 50);
        const [rows, count] = await repo().findAndCount({
          sort: ['title'],
          limit: pageSize,
          offset: (page - 1) * pageSize,
        });
        ctx.body = {
          rows: await Promise.all(rows.map((r: any) => toPublicAccount(app, r))),
          count,
          page,
          pageSize,
          totalPage: Math.ceil(count / pageSize),
        };
        await next();
      },

      'mailAccounts:get': async (ctx: any, next: () => Promise<void>) => {
        ctx.body = await toPublicAccount(app, await findOr404(ctx));
        await next();
      },

      'mailAccounts:create': async (ctx: any, next: () => Promise<void>) => {
        const incoming = takeSecrets(ctx);
        const values = pickWritable(ctx.action.params.values ?? {});
        validateAccount(ctx, values, true);
        const secrets = await encryptSecrets(app, mergeSecrets({}, incoming));
        const model = await repo().create({ values: { ...values, secrets, status: 'new' }, context: ctx });
        ctx.body = await toPublicAccount(app, model);
        await next();
      },

      'mailAccounts:update': async (ctx: any, next: () => Promise<void>) => {
        const model = await findOr404(ctx);
        const incoming = takeSecrets(ctx);
        const values = pickWritable(ctx.action.params.values ?? {});
        validateAccount(ctx, values, false);
        if (values.settings) {
          const stored = model.get('settings') ?? {};
          const owned = Object.fromEntries(SERVER_OWNED_SETTINGS.filter((k) => k in stored).map((k) => [k, stored[k]]));
          values.settings = { ...values.settings, ...owned };
        }
        if (Object.keys(incoming).length) {
          const stored = await decryptSecrets(app, model.get('secrets'));
          (values as any).secrets = await encryptSecrets(app, mergeSecrets(stored, incoming));
        }
        await model.update(values);
        await mail.engine.forget(String(model.get('id')));
        ctx.body = await toPublicAccount(app, model);
        await next();
      },

      'mailAccounts:destroy': async (ctx: any, next: () => Promise<void>) => {
        const model = await findOr404(ctx);
        await mail.removeAccount(model);
        ctx.body = { ok: true };
        await next();
      },

      // Connects and authenticates with the stored account, or with unsaved form values (`values`) using the
      // stored secrets for the fields the form left empty. Never changes the account.
      'mailAccounts:test': async (ctx: any, next: () => Promise<void>) => {
        const incoming = takeSecrets(ctx);
        const { filterByTk, values } = ctx.action.params;
        const model = filterByTk ? await findOr404(ctx) : null;
        const stored = model ? await decryptSecrets(app, model.get('secrets')) : {};
        const account = { ...(model?.toJSON() ?? {}), ...pickWritable(values ?? {}) } as StoredAccount;
        const secrets = mergeSecrets(stored, incoming);
        try {
          ctx.body = await mail.engine.testConfig(model ? String(model.get('id')) : undefined, account, secrets);
        } catch (err: any) {
          ctx.body = {
            ok: false,
            steps: [],
            error: { code: err.code ?? 'PROVIDER_ERROR', message: err.message, hint: err.hint },
          };
        }
        await next();
      },

      // Waits for the sync up to `waitMs` (default 20 s); a longer one (a first sync of a big mailbox) goes on in the
      // background and the answer says so: the account row shows its progress.
      'mailAccounts:syncNow': async (ctx: any, next: () => Promise<void>) => {
        const model = await findOr404(ctx);
        const waitMs = Math.min(120_000, Math.max(0, Number(ctx.action.params.waitMs ?? SYNC_NOW_WAIT_MS)));
        const sync = mail.sync.syncAccount(String(model.get('id')), { reason: 'manual' });
        sync.catch((err: any) => app.log.error(`mail: manual sync of account ${model.get('id')} failed: ${err.message}`));
        let timer: NodeJS.Timeout | undefined;
        const later = new Promise<{ ok: true; running: true; folders: [] }>((resolve) => {
          timer = setTimeout(() => resolve({ ok: true, running: true, folders: [] }), waitMs);
        });
        try {
          ctx.body = await Promise.race([sync, later]);
        } finally {
          clearTimeout(timer);
        }
        await next();
      },
    }),
  );
}
