import { startDovecot, startSmtpSink, Dovecot, SmtpSink, MailUser } from '@mailbridge/mail-testkit';

// dovecot (IMAP, LMTP) and an SMTP sink that delivers into it: a mail sent over SMTP can be read back over IMAP.
export interface MailPeers {
  dovecot: Dovecot;
  sink: SmtpSink;
  accountValues(user: MailUser, extra?: Record<string, unknown>): Record<string, any>;
  stop(): Promise<void>;
}

export async function startMailPeers(users: MailUser[]): Promise<MailPeers> {
  const dovecot = await startDovecot({ users });
  const sink = await startSmtpSink({ dovecot, users });
  const peers: MailPeers = {
    dovecot,
    sink,
    accountValues(user, extra = {}) {
      return {
        title: user.user,
        provider: 'smtp-imap',
        address: user.user,
        settings: {
          smtp: { host: sink.host, port: sink.port, security: 'none' },
          imap: { host: dovecot.host, port: dovecot.imapPort, security: 'none' },
          sync: { intervalSeconds: 3600 },
        },
        secrets: { password: user.password },
        ...extra,
      };
    },
    async stop() {
      await peers.sink.close();
      await dovecot.destroy();
    },
  };
  return peers;
}
