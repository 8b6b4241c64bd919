// Who may use an account: admins (root and admin roles, or anyone allowed to configure the mail settings) use
// every account; others use the accounts whose userIds or roleNames name them.
const ADMIN_ROLES = new Set(['root', 'admin']);

export interface MailUser {
  id: number | string;
  roleNames: string[];
}

export async function currentMailUser(ctx: any): Promise<MailUser | null> {
  const user = ctx.state?.currentUser;
  if (!user) return null;
  const roles = ctx.state.currentRoles ?? (ctx.state.currentRole ? [ctx.state.currentRole] : []);
  return { id: user.id, roleNames: roles };
}

export function isMailAdmin(user: MailUser): boolean {
  return user.roleNames.some((r) => ADMIN_ROLES.has(r));
}

export function mayUseAccount(user: MailUser, account: { userIds?: unknown; roleNames?: unknown }): boolean {
  if (isMailAdmin(user)) return true;
  const userIds = Array.isArray(account.userIds) ? account.userIds.map(String) : [];
  const roleNames = Array.isArray(account.roleNames) ? account.roleNames : [];
  return userIds.includes(String(user.id)) || user.roleNames.some((r) => roleNames.includes(r));
}

/** Ids of the accounts the user may use; null means all of them. */
export async function usableAccountIds(db: any, user: MailUser): Promise<string[] | null> {
  if (isMailAdmin(user)) return null;
  const accounts = await db.getRepository('mailAccounts').find({ fields: ['id', 'userIds', 'roleNames'] });
  return accounts.filter((a: any) => mayUseAccount(user, a.toJSON())).map((a: any) => String(a.get('id')));
}

const NS = '@mailbridge/plugin-mail';

/** The signed-in user, or a 401. */
export async function requireMailUser(ctx: any): Promise<MailUser> {
  const user = await currentMailUser(ctx);
  if (!user) ctx.throw(401, ctx.t('Please sign in', { ns: NS }));
  return user!;
}

/** The account if the signed-in user may use it; otherwise a 404, as if it did not exist. */
export async function usableAccountOr404(ctx: any, accountId: unknown) {
  const user = await requireMailUser(ctx);
  const account: any = accountId ? await ctx.db.getRepository('mailAccounts').findOne({ filterByTk: accountId }) : null;
  if (!account || !mayUseAccount(user, account.toJSON())) ctx.throw(404, ctx.t('Mail account not found', { ns: NS }));
  return account;
}

/**
 * Whether the signed-in role may configure mail accounts: root, or a role with the "pm.mail" settings snippet.
 * Checked in the handlers too, so a role's generic data strategy ("view all collections") never opens them.
 */
export function mayConfigureMail(ctx: any): boolean {
  const roles: string[] = ctx.state?.currentRoles ?? (ctx.state?.currentRole ? [ctx.state.currentRole] : []);
  return roles.some(
    (name) => name === 'root' || Boolean(ctx.app.acl.getRole(name)?.snippetAllowed('mailAccounts:list')),
  );
}
