import nodemailer from 'nodemailer';
import type { SMTPPoolOptions, Transporter } from 'nodemailer';
import { isMailError, toMailError, type MailErrorContext } from '../../errors';
import { assertSafeHeaders } from '../../mime/assertSafeHeaders';
import { composeOptions } from '../../mime/composeOptions';
import { ensureMessageId } from '../../mime/messageId';
import type { MailTransport, OutgoingMessage, SendOptions, SendResult } from '../../types';
import { DEFAULT_TIMEOUTS, loginUser, secretsOf, type AuthConfig, type RuntimeOptions, type SmtpEndpoint } from '../accountConfig';

export interface SmtpTransportConfig {
  address: string;
  smtp: SmtpEndpoint;
  auth: AuthConfig;
}

/** nodemailer's secure/requireTLS/ignoreTLS from one setting. */
export function securityOptions(security: SmtpEndpoint['security']): Pick<SMTPPoolOptions, 'secure' | 'requireTLS' | 'ignoreTLS'> {
  if (security === 'ssl') return { secure: true };
  if (security === 'starttls') return { secure: false, requireTLS: true };
  return { secure: false, ignoreTLS: true };
}

function authOptions(config: SmtpTransportConfig): SMTPPoolOptions['auth'] {
  const user = loginUser(config.smtp, config.address);
  if (config.auth.method === 'xoauth2') return { type: 'OAuth2', user, accessToken: config.auth.accessToken };
  return { user, pass: config.auth.password };
}

export function poolOptions(config: SmtpTransportConfig): SMTPPoolOptions & { pool: true } {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...config.smtp.timeouts };
  return {
    pool: true,
    maxConnections: config.smtp.maxConnections ?? 3,
    host: config.smtp.host,
    port: config.smtp.port,
    ...securityOptions(config.smtp.security),
    auth: authOptions(config),
    connectionTimeout: timeouts.connectMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    tls: config.smtp.allowInvalidCertificate ? { rejectUnauthorized: false } : undefined,
    logger: false,
    debug: false,
  };
}

/** "250 2.0.0 Ok: queued as 4XyZ12" → "4XyZ12". */
export function queueIdOf(response: string | undefined): string | undefined {
  const match = /queued as\s+<?([^\s>]+)>?/i.exec(response ?? '') ?? /\bid=([^\s]+)/i.exec(response ?? '');
  return match?.[1];
}

function tokenErrorOf(err: unknown) {
  const tokenError = (err as { tokenError?: unknown } | null)?.tokenError;
  return isMailError(tokenError) ? tokenError : undefined;
}

/** Sends through an SMTP server with a connection pool (nodemailer). */
export class SmtpTransport implements MailTransport {
  private readonly mailer: Transporter;
  private readonly context: MailErrorContext;

  constructor(config: SmtpTransportConfig, runtime: RuntimeOptions = {}) {
    this.mailer = nodemailer.createTransport(poolOptions(config));
    const provider = runtime.accessTokenProvider;
    if (provider && config.auth.method === 'xoauth2') {
      this.mailer.set('oauth2_provision_cb', (_user: string, renew: boolean, done: (err: Error | null, token?: string) => void) => {
        // nodemailer rewrites the code of the error it is given: hand it a carrier, keep the token error intact
        provider({ forceRefresh: renew }).then(
          (token) => done(null, token),
          (err: Error) => done(Object.assign(new Error(err.message), { code: 'EOAUTH2', tokenError: err })),
        );
      });
    }
    this.context = {
      protocol: 'smtp',
      host: config.smtp.host,
      port: config.smtp.port,
      security: config.smtp.security,
      secrets: secretsOf(config.auth),
    };
  }

  async send(msg: OutgoingMessage, opts: SendOptions = {}): Promise<SendResult> {
    assertSafeHeaders(msg);
    const messageId = ensureMessageId(msg);
    try {
      const info = await this.mailer.sendMail({ ...composeOptions(msg, messageId), signal: opts.signal });
      return {
        providerMessageId: queueIdOf(info.response) ?? messageId,
        messageId,
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
      };
    } catch (err) {
      throw tokenErrorOf(err) ?? toMailError(err, { ...this.context, operation: 'send' });
    }
  }

  async verify(): Promise<void> {
    try {
      await this.mailer.verify();
    } catch (err) {
      throw tokenErrorOf(err) ?? toMailError(err, { ...this.context, operation: 'connect' });
    }
  }

  async close(): Promise<void> {
    this.mailer.close();
  }
}
