import type { Application } from '@nocobase/server';
import { Op } from '@nocobase/database';
import { mailErrorText } from '../mailErrorText';

const NS = '@mailbridge/plugin-mail';
const ADMIN_ROLES = ['root', 'admin'];
const IN_APP = 'in-app-message';
/** The in-app channel created when the workspace has none. */
export const RECONNECT_CHANNEL = 'mailbridge-account-alerts';

/**
 * Called wherever a failure of an account is recorded (sync, outbox). When the failure means the sign-in is gone
 * (`needsReconnect`) and the account was not marked so yet, marks it and tells the account's users and the admins.
 * The conditional update makes it once per transition, however many syncs and sends fail meanwhile. Never throws:
 * the caller is recording a failure and must finish doing so.
 */
export async function noticeIfReconnectNeeded(app: Application, accountId: string | number, err: any): Promise<void> {
  if (!err?.needsReconnect) return;
  try {
    const Accounts = app.db.getModel('mailAccounts');
    const [changed] = await Accounts.update(
      { status: 'needs-reconnect' },
      {
        where: { id: accountId, [Op.or]: [{ status: null }, { status: { [Op.ne]: 'needs-reconnect' } }] },
        hooks: false,
        silent: true,
      },
    );
    if (!changed) return;
    const account: any = await Accounts.findByPk(accountId as any);
    if (account) await sendReconnectNotice(app, account, mailErrorText(err));
  } catch (e: any) {
    app.log.error(`mail account ${accountId}: the "needs reconnect" notice failed: ${e?.message ?? e}`);
  }
}

/** The account's users (by id and by role) and every admin. */
export async function reconnectRecipients(app: Application, account: any): Promise<number[]> {
  const userIds = (Array.isArray(account.get('userIds')) ? account.get('userIds') : [])
    .map((id: unknown) => Number(id))
    .filter((id: number) => Number.isSafeInteger(id));
  const roleNames = [...(Array.isArray(account.get('roleNames')) ? account.get('roleNames') : []), ...ADMIN_ROLES];
  const users = await app.db.getRepository('users').find({
    filter: { $or: [{ id: { $in: userIds } }, { 'roles.name': { $in: roleNames } }] },
    fields: ['id'],
  });
  return [...new Set<number>(users.map((u: any) => Number(u.get('id'))))];
}

function notificationManager(app: Application): any {
  const manager: any = app.pm.get('notification-manager');
  if (!manager?.enabled || typeof manager.send !== 'function') return null;
  return manager.channelTypes?.get?.(IN_APP) ? manager : null;
}

async function inAppChannel(app: Application, t: (s: string) => string): Promise<string> {
  const repo = app.db.getRepository('notificationChannels');
  const existing: any = await repo.findOne({ filter: { notificationType: IN_APP }, sort: ['createdAt'] });
  if (existing) return existing.get('name');
  await repo.create({
    values: {
      name: RECONNECT_CHANNEL,
      title: t('Mail account alerts'),
      notificationType: IN_APP,
      options: {},
      description: t('Created by the mail plugin to tell users when a mail account must be reconnected.'),
    },
  });
  return RECONNECT_CHANNEL;
}

async function sendReconnectNotice(app: Application, account: any, reason: string) {
  const t = (text: string, options: Record<string, unknown> = {}) =>
    String((app as any).i18n?.t?.(text, { ns: NS, ...options }) ?? text);
  const name = account.get('title') || account.get('address');
  const title = t('Mail account "{{name}}" needs to be reconnected', { name, interpolation: { escapeValue: false } });
  const content = t(
    'The sign-in of {{address}} expired or was revoked, so its mail is neither received nor sent. An administrator can reconnect it in Settings → Mail. Details: {{reason}}',
    { address: account.get('address'), reason, interpolation: { escapeValue: false } },
  );
  const manager = notificationManager(app);
  if (!manager) {
    app.log.warn(`${title}. ${content}`);
    return;
  }
  const receivers = await reconnectRecipients(app, account);
  if (!receivers.length) {
    app.log.warn(`${title}. ${content}`);
    return;
  }
  const result = await manager.send({
    channelName: await inAppChannel(app, t),
    triggerFrom: 'mailbridge',
    receivers: { type: 'userId', value: receivers },
    message: { title, content, options: { url: '/admin/settings/mail' } },
  });
  if (result?.status === 'failure') app.log.warn(`${title} (in-app message failed: ${result.reason}). ${content}`);
}
