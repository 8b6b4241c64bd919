import type { Application } from '@nocobase/server';

// Signed-in users reach these actions; the handlers filter by account assignment (accountAccess.ts) themselves.
const USER_ACTIONS: Record<string, string[]> = {
  mailAccounts: ['listUsable'],
  mailMessages: ['list', 'get', 'send', 'folders', 'markSeen'],
  mailAttachments: ['download'],
  mailOutbox: ['list', 'retry', 'discard'],
};

export const MAIL_SETTINGS_SNIPPET = 'pm.mail';

export function registerAclRules(app: Application) {
  app.acl.registerSnippet({
    name: MAIL_SETTINGS_SNIPPET,
    actions: [
      'mailAccounts:*',
      'mailOAuth:authorize',
      'mailOAuth:redirectUri',
      'mailOAuth:adminConsent',
      'mailOAuth:connectWithPassword',
    ],
  });
  // Entra ID redirects the browser here; the single-use state, not the session, proves who started it.
  app.acl.allow('mailOAuth', 'callback', 'public');
  allowSignedInUsers(app, USER_ACTIONS, 'mail-user-actions');
}

/**
 * Lets signed-in users reach actions whose handlers decide access themselves (by account assignment). A role's
 * data strategy (e.g. "view own records") would otherwise add its filter to them; mail is scoped by account, not
 * by who created a row, so the strategy's params are dropped for these actions.
 */
export function allowSignedInUsers(app: Application, actions: Record<string, string[]>, tag: string) {
  for (const [resource, names] of Object.entries(actions)) app.acl.allow(resource, names, 'loggedIn');
  app.acl.use(
    async (ctx: any, next: () => Promise<void>) => {
      const { resourceName, actionName } = ctx.permission ?? {};
      if (ctx.permission?.skip && actions[resourceName]?.includes(actionName)) ctx.permission.can = null;
      await next();
    },
    { tag, after: 'allow-manager', before: 'core' },
  );
}
