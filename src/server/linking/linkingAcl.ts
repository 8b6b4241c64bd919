import type { Application } from '@nocobase/server';

// Signed-in users reach these actions; the handlers check account assignment (accounts/accountAccess.ts) and the
// user's right to view the record's collection themselves (same pattern as accounts/aclRules.ts).
export const LINKING_USER_ACTIONS: Record<string, string[]> = {
  mailLinks: ['list', 'create', 'destroy'],
};

export function registerLinkingAcl(app: Application) {
  for (const [resource, actions] of Object.entries(LINKING_USER_ACTIONS)) app.acl.allow(resource, actions, 'loggedIn');
  // A role's data strategy would otherwise add its filter (e.g. "own records") to these actions; access to mail is
  // decided by account assignment, so the strategy's params are dropped.
  app.acl.use(
    async (ctx: any, next: () => Promise<void>) => {
      const { resourceName, actionName } = ctx.permission ?? {};
      if (ctx.permission?.skip && LINKING_USER_ACTIONS[resourceName]?.includes(actionName)) ctx.permission.can = null;
      await next();
    },
    { tag: 'mail-linking-actions', after: 'allow-manager', before: 'core' },
  );
}
