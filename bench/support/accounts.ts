import type { Dovecot, MailUser, SmtpSink } from '@mailbridge/mail-testkit';
import type { BenchApp } from './app';

/** `POST mailAccounts:create` as the signed-in admin; returns the new account's id. */
async function createAccount(app: BenchApp, token: string, values: Record<string, unknown>): Promise<string> {
  const created = await app.call('POST', 'mailAccounts:create', { token, values });
  if (created.status !== 200) throw new Error(`account: ${JSON.stringify(created.body)}`);
  return String(created.body.data.id);
}

/**
 * Creates the SMTP/IMAP account of the bench mailbox: IMAP on the given dovecot, a placeholder SMTP server, an
 * hourly sync interval (the bench syncs by hand). Returns the account's id and the settings it was created with.
 */
export async function createImapAccount(app: BenchApp, token: string, dovecot: Dovecot, user: MailUser, title: string) {
  const settings = {
    smtp: { host: '127.0.0.1', port: 25, security: 'none' },
    imap: { host: dovecot.host, port: dovecot.imapPort, security: 'none' },
    sync: { intervalSeconds: 3600 },
  };
  const values = { title, provider: 'smtp-imap', address: user.user, settings, secrets: { password: user.password } };
  return { accountId: await createAccount(app, token, values), settings };
}

/** Creates an SMTP-only account that sends to the given sink as `user`; returns the account's id. */
export function createSmtpAccount(app: BenchApp, token: string, sink: Pick<SmtpSink, 'host' | 'port'>, user: MailUser, title: string) {
  return createAccount(app, token, {
    title,
    provider: 'smtp',
    address: user.user,
    settings: { smtp: { host: sink.host, port: sink.port, security: 'none' } },
    secrets: { password: user.password },
  });
}
