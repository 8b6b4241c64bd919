import type { Dovecot, MailUser } from '@mailbridge/mail-testkit';
import type { BenchApp } from './app';

/**
 * Creates the SMTP/IMAP account of the bench mailbox through `POST mailAccounts:create`: IMAP on the given
 * dovecot, a placeholder SMTP server, an hourly sync interval (the bench syncs by hand). Returns the account's id
 * and the settings it was created with.
 */
export async function createImapAccount(app: BenchApp, token: string, dovecot: Dovecot, user: MailUser, title: string) {
  const settings = {
    smtp: { host: '127.0.0.1', port: 25, security: 'none' },
    imap: { host: dovecot.host, port: dovecot.imapPort, security: 'none' },
    sync: { intervalSeconds: 3600 },
  };
  const created = await app.call('POST', 'mailAccounts:create', {
    token,
    values: { title, provider: 'smtp-imap', address: user.user, settings, secrets: { password: user.password } },
  });
  if (created.status !== 200) throw new Error(`account: ${JSON.stringify(created.body)}`);
  return { accountId: String(created.body.data.id), settings };
}
