import type { Application } from '@nocobase/server';
import { adminConsentUrl, createGraphAuth, DelegatedAuth } from '@mailbridge/mail-core';
import type { MailService } from '../mailService';
import { OAuthStates } from './oauthStates';
import { accountTokenCache } from './tokenCacheStore';
import { missingScopes, requestedScopes } from '../accounts/scopes';
import { NO_ACCOUNT_ERROR } from '../accounts/accountError';
import { connectsWithMicrosoft, usesMicrosoftOAuth } from '../accounts/engineConfig';
import { mailErrorText } from '../mailErrorText';

const NS = '@mailbridge/plugin-mail';
export const CALLBACK_ACTION = 'mailOAuth:callback';

/** The public URL of the callback, as the browser reaches this server (register it in Entra ID). */
export function callbackUrl(ctx: any): string {
  const base = process.env.APP_PUBLIC_URL || `${ctx.protocol}://${ctx.host}`;
  const apiBase = (process.env.API_BASE_PATH || '/api/').replace(/\/?$/, '/');
  return `${base.replace(/\/$/, '')}${apiBase}${CALLBACK_ACTION}`;
}

function settingsPage(query: Record<string, string>): string {
  const publicPath = (process.env.APP_PUBLIC_PATH || '/').replace(/\/?$/, '/');
  return `${publicPath}admin/settings/mail?${new URLSearchParams(query).toString()}`;
}

async function delegatedAccount(ctx: any, app: Application, accountId: unknown) {
  const account: any = accountId
    ? await app.db.getRepository('mailAccounts').findOne({ filterByTk: accountId as any })
    : null;
  if (!account) ctx.throw(404, ctx.t('Mail account not found', { ns: NS }));
  if (!connectsWithMicrosoft(account.toJSON()))
    ctx.throw(400, ctx.t('Only delegated Microsoft 365 accounts connect this way', { ns: NS }));
  return account;
}

// "Connect with Microsoft": authorize (signed-in admin) -> Entra ID -> callback (public GET, validated by the
// single-use state) -> token cache stored encrypted -> back to the settings page with the outcome. The same for a
// delegated Microsoft 365 account (Graph scopes) and for SMTP/IMAP signing in with Microsoft (IMAP/SMTP scopes).
export function registerOAuthActions(app: Application, mail: MailService) {
  const states = new OAuthStates(app);

  const authFor = async (account: any, redirectUri: string): Promise<DelegatedAuth> => {
    const signIn = await mail.engine.signInConfig(account);
    if (!signIn) throw new Error('This account does not sign in with Microsoft.');
    return createGraphAuth({ ...signIn, redirectUri }, { tokenCache: accountTokenCache(app, String(account.get('id'))) });
  };

  const markConnected = async (
    account: any,
    result: { homeAccountId: string; username: string; grantedScopes: string[] },
    redirectUri: string,
  ) => {
    const settings = account.get('settings') ?? {};
    const requested = requestedScopes(account.get('provider'), settings);
    await account.update({
      settings: {
        ...settings,
        homeAccountId: result.homeAccountId,
        connectedAs: result.username,
        grantedScopes: result.grantedScopes,
        missingScopes: missingScopes(requested, result.grantedScopes),
        redirectUri,
      },
      status: 'ok',
      ...NO_ACCOUNT_ERROR,
      consecutiveFailures: 0,
    });
    await mail.engine.forget(String(account.get('id')));
  };

  app.resourceManager.define({
    name: 'mailOAuth',
    actions: {
      authorize: async (ctx: any, next: () => Promise<void>) => {
        const params = ctx.action.params;
        const account = await delegatedAccount(
          ctx,
          app,
          params.filterByTk ?? params.accountId ?? params.values?.accountId,
        );
        const redirectUri = account.get('settings')?.redirectUri || callbackUrl(ctx);
        const state = states.newState();
        const auth = await authFor(account, redirectUri);
        const { url, verifier, nonce } = await auth.buildAuthorizeUrl({
          state,
          loginHint: account.get('address'),
          prompt: 'select_account',
        });
        await states.save(state, {
          accountId: String(account.get('id')),
          userId: ctx.state.currentUser?.id,
          verifier: verifier!,
          nonce,
          redirectUri,
        });
        ctx.body = { url, redirectUri };
        await next();
      },

      callback: async (ctx: any, next: () => Promise<void>) => {
        const { code, state, error, error_description: errorDescription } = ctx.action.params;
        const pending = await states.take(state);
        const fail = (message: string) => ctx.redirect(settingsPage({ oauthError: message }));
        if (!pending) {
          fail(
            ctx.t('The sign-in link is invalid, expired or was already used. Start "Connect with Microsoft" again.', {
              ns: NS,
            }),
          );
          return;
        }
        if (error) {
          fail(`${error}: ${String(errorDescription ?? '').split('\n')[0]}`);
          return;
        }
        try {
          const account = await app.db.getRepository('mailAccounts').findOne({ filterByTk: pending.accountId });
          if (!account) throw new Error('The mail account no longer exists.');
          const auth = await authFor(account, pending.redirectUri);
          const result = await auth.redeemAuthorizationCode({
            code: String(code ?? ''),
            verifier: pending.verifier,
            nonce: pending.nonce,
          });
          await markConnected(account, result, pending.redirectUri);
          ctx.redirect(settingsPage({ connected: pending.accountId }));
        } catch (err: any) {
          fail(mailErrorText(err));
        }
        await next();
      },

      // The redirect URI to register in Entra ID, as this server sees itself (APP_PUBLIC_URL behind a proxy).
      redirectUri: async (ctx: any, next: () => Promise<void>) => {
        ctx.body = { redirectUri: callbackUrl(ctx) };
        await next();
      },

      adminConsent: async (ctx: any, next: () => Promise<void>) => {
        const account = await delegatedAccount(ctx, app, ctx.action.params.filterByTk ?? ctx.action.params.accountId);
        const s = account.get('settings') ?? {};
        // SMTP/IMAP permissions belong to Exchange Online's resource, not to Graph
        const resource = usesMicrosoftOAuth(account.toJSON()) ? { graphBaseUrl: 'https://outlook.office.com' } : {};
        ctx.body = {
          url: adminConsentUrl(s.tenantId, s.clientId, s.redirectUri || callbackUrl(ctx), { ...s.endpoints, ...resource }),
        };
        await next();
      },

      // ROPC: user name and password sent to Entra ID directly. Only for tenants that cannot do the redirect, only
      // when the admin enabled it on the account; the password is used once and not stored.
      connectWithPassword: async (ctx: any, next: () => Promise<void>) => {
        const values = { ...(ctx.action.params.values ?? {}) };
        if (ctx.action.params.values) delete ctx.action.params.values.password; // kept out of the request log
        const account = await delegatedAccount(ctx, app, ctx.action.params.filterByTk ?? values.accountId);
        if (!account.get('settings')?.allowRopc) {
          ctx.throw(400, ctx.t('Signing in with a password is switched off for this account', { ns: NS }));
        }
        const redirectUri = account.get('settings')?.redirectUri || callbackUrl(ctx);
        try {
          const auth = await authFor(account, redirectUri);
          const result = await auth.acquireByPassword(
            String(values.username ?? account.get('address')),
            String(values.password ?? ''),
          );
          await markConnected(account, result, redirectUri);
          ctx.body = { ok: true, connectedAs: result.username, grantedScopes: result.grantedScopes };
        } catch (err: any) {
          ctx.body = { ok: false, error: { code: err.code ?? 'AUTH_FAILED', message: err.message, hint: err.hint } };
        }
        await next();
      },
    },
  });
}
