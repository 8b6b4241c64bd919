import https from 'node:https';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import type { Dovecot } from './dovecot';
import { deliverViaLmtp } from './lmtp';
import { baseAddress, normalizeMailUser, type MailUser } from './mailUser';

export interface SmtpSinkOptions {
  /** default: a free port */
  port?: number;
  /** if given, AUTH (PLAIN/LOGIN, no TLS needed) is required and checked against these users */
  users?: MailUser[];
  /** deliver every accepted mail into this dovecot via LMTP before answering 250; unknown recipients get 550 */
  dovecot?: Dovecot;
  /** recipients answered with 550 at RCPT TO (case-insensitive) */
  rejectRecipients?: string[];
  /** how long close() lets open client connections finish before cutting them; default 300 ms */
  closeTimeoutMs?: number;
  /**
   * Also accept AUTH XOAUTH2: the bearer token is POSTed to this RFC 7662 introspection URL (e.g. the Microsoft
   * fake's `introspectionUrl`), asking for `scope` (default SMTP.Send); the token's user must be the AUTH user.
   * Needs `users` (AUTH is off without them). Set `ca` when the URL is the fake's HTTPS origin.
   */
  oauth2?: { introspectionUrl: string; scope?: string; ca?: string };
}

export interface ReceivedMail {
  /** envelope sender ('' for the null sender) */
  from: string;
  /** envelope recipients */
  to: string[];
  /** the message exactly as the client sent it after DATA (dot-stuffing removed) */
  raw: Buffer;
  /** the AUTH user, when the client authenticated */
  authUser?: string;
}

export interface SmtpSink {
  host: string;
  port: number;
  /** every accepted message, in order */
  received: ReceivedMail[];
  /** resolves with the first `count` received mails once there are that many; rejects after timeoutMs (default 10 s) */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

type SmtpError = Error & { responseCode?: number };

function smtpError(code: number, message: string): SmtpError {
  const err: SmtpError = new Error(message);
  err.responseCode = code;
  return err;
}

/** The user an introspection endpoint vouches for, or null when it calls the token inactive. */
async function introspectedUser(oauth2: NonNullable<SmtpSinkOptions['oauth2']>, token: string): Promise<string | null> {
  const url = new URL(oauth2.introspectionUrl);
  url.searchParams.set('scope', oauth2.scope ?? 'SMTP.Send');
  const body = new URLSearchParams({ token }).toString();
  const init = { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body };
  let text: string;
  if (url.protocol === 'https:' && oauth2.ca) {
    text = await new Promise<string>((resolve, reject) => {
      const req = https.request(url, { method: 'POST', headers: init.headers, ca: oauth2.ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  } else {
    text = await (await fetch(url, init)).text();
  }
  const answer = JSON.parse(text) as { active?: boolean; username?: string };
  return answer.active === true && typeof answer.username === 'string' ? answer.username.toLowerCase() : null;
}

/** A real SMTP server (the `smtp-server` package) on 127.0.0.1, no TLS, that collects what it is sent. */
export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const users = opts.users?.map(normalizeMailUser);
  const rejected = new Set((opts.rejectRecipients ?? []).map((r) => r.trim().toLowerCase()));
  const dovecot = opts.dovecot;
  const received: ReceivedMail[] = [];
  const waiters = new Set<() => void>();

  const server = new SMTPServer({
    secure: false,
    name: 'mailbridge-sink.localhost',
    banner: 'mailbridge test sink',
    logger: false,
    hideSTARTTLS: true,
    disabledCommands: users ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !users,
    allowInsecureAuth: true,
    authMethods: opts.oauth2 ? ['PLAIN', 'LOGIN', 'XOAUTH2'] : ['PLAIN', 'LOGIN'],
    closeTimeout: opts.closeTimeoutMs ?? 300,
    onAuth(auth, _session, callback) {
      if (auth.method === 'XOAUTH2' && opts.oauth2) {
        const claimed = String(auth.username ?? '').toLowerCase();
        introspectedUser(opts.oauth2, String(auth.accessToken ?? '')).then(
          (user) => {
            if (user && user === claimed && users?.some((u) => u.user === user)) return callback(null, { user });
            // RFC 7628 failure: a JSON challenge, then 535 once the client answers
            callback(null, { data: { status: '401', schemes: 'bearer', scope: opts.oauth2?.scope ?? 'SMTP.Send' } } as any);
          },
          (err: Error) => callback(smtpError(454, `4.7.0 token check failed: ${err.message}`)),
        );
        return;
      }
      const user = users?.find((u) => u.user === String(auth.username ?? '').toLowerCase());
      if (!user || auth.password !== user.password) {
        return callback(smtpError(535, 'Authentication credentials invalid'));
      }
      callback(null, { user: user.user });
    },
    onRcptTo(address: SMTPServerAddress, _session: SMTPServerSession, callback) {
      const rcpt = address.address.toLowerCase();
      if (rejected.has(rcpt)) return callback(smtpError(550, `5.1.1 <${address.address}>: recipient rejected`));
      if (dovecot && !dovecot.users.some((u) => u.user === baseAddress(rcpt))) {
        return callback(smtpError(550, `5.1.1 <${address.address}>: no such user here`));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err: Error) => callback(err));
      stream.on('end', () => {
        const mail: ReceivedMail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          ...(session.user ? { authUser: String(session.user) } : {}),
        };
        const accept = () => {
          received.push(mail);
          for (const wake of [...waiters]) wake();
          callback(null, `accepted as message ${received.length}`);
        };
        if (!dovecot) return accept();
        deliverViaLmtp({ host: dovecot.host, port: dovecot.lmtpPort, from: mail.from, recipients: mail.to, raw: mail.raw })
          .then((results) => {
            const refused = results.find((r) => !r.accepted);
            // one SMTP transaction has one answer: any refused copy fails the whole mail, with dovecot's code
            if (refused) return callback(smtpError(refused.code || 451, `${refused.response} (delivering to ${refused.recipient})`));
            accept();
          })
          .catch((err: Error) => callback(smtpError(451, `4.3.0 local delivery into dovecot failed: ${err.message}`)));
      });
    },
  });

  const port = opts.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => undefined); // client-side protocol errors are the client's business
  const address = server.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;

  return {
    host: '127.0.0.1',
    port: boundPort,
    received,
    waitFor(count: number, timeoutMs = 10000): Promise<ReceivedMail[]> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length < count) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(received.slice(0, count));
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`SMTP sink: expected ${count} mail(s) within ${timeoutMs} ms, got ${received.length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close(): Promise<void> {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
