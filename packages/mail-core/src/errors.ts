/**
 * One error type for everything a provider can fail with. `code` is stable (store it, branch on it),
 * `hint` tells the user what to do, `retryable` tells the outbox and the sync scheduler whether
 * trying again later can help.
 */
export type MailErrorCode =
  | 'AUTH_FAILED'
  | 'TLS_MISMATCH'
  | 'HOST_UNREACHABLE'
  | 'CONNECTION_LOST'
  | 'TIMEOUT'
  | 'MAILBOX_MISSING'
  | 'QUOTA_EXCEEDED'
  | 'INVALID_HEADER'
  | 'RECIPIENT_REJECTED'
  | 'RATE_LIMITED'
  | 'ABORTED'
  | 'PROVIDER_ERROR';

export interface MailErrorContext {
  /** 'smtp', 'imap', later 'graph', 'ses', 'sendgrid'. */
  protocol?: string;
  /** What we were doing: 'connect', 'send', 'sync', 'download', 'append', 'list'. */
  operation?: string;
  host?: string;
  port?: number;
  security?: 'ssl' | 'starttls' | 'none';
  folder?: string;
  /** Values that must never show up in a message (password, token); replaced by "***". */
  secrets?: Array<string | undefined>;
}

export interface MailErrorOptions {
  hint?: string;
  retryable?: boolean;
  retryAfterMs?: number;
  responseCode?: number;
  /** Recipients the server refused (RECIPIENT_REJECTED). */
  rejected?: string[];
  context?: Omit<MailErrorContext, 'secrets'>;
  cause?: unknown;
  /** The account's sign-in expired or was revoked: only reconnecting it helps. */
  needsReconnect?: boolean;
}

const DEFAULT_RETRYABLE: Record<MailErrorCode, boolean> = {
  AUTH_FAILED: false,
  TLS_MISMATCH: false,
  HOST_UNREACHABLE: true,
  CONNECTION_LOST: true,
  TIMEOUT: true,
  MAILBOX_MISSING: false,
  QUOTA_EXCEEDED: false,
  INVALID_HEADER: false,
  RECIPIENT_REJECTED: false,
  RATE_LIMITED: true,
  ABORTED: true,
  PROVIDER_ERROR: true,
};

const DEFAULT_HINT: Record<MailErrorCode, string> = {
  AUTH_FAILED: 'Check the user name and password (the user name may differ from the e-mail address).',
  TLS_MISMATCH:
    'The encryption setting does not match the port. Use "SSL/TLS" for ports 465 and 993, "STARTTLS" for 587 and 143.',
  HOST_UNREACHABLE: 'Check the server name and port, and that this server may connect to it (firewall, DNS).',
  CONNECTION_LOST: 'The server closed the connection. It is retried automatically; if it keeps happening, check the server.',
  TIMEOUT: 'The server did not answer in time. It is retried automatically; if it keeps happening, check the server name and port.',
  MAILBOX_MISSING: 'The folder does not exist on the server (it may have been renamed or deleted). Choose another folder.',
  QUOTA_EXCEEDED: 'The mailbox is full. Delete or archive mail, or ask the mail administrator for more space.',
  INVALID_HEADER: 'A subject, address or header contains a line break. Remove it and send again.',
  RECIPIENT_REJECTED: 'The server refused a recipient address. Check the address for typos.',
  RATE_LIMITED: 'The provider limits how much mail may be sent or fetched. It is retried automatically later.',
  ABORTED: 'The operation was cancelled.',
  PROVIDER_ERROR: 'The mail server reported an error. See the details; if it persists, contact the mail administrator.',
};

export class MailError extends Error {
  readonly code: MailErrorCode;
  readonly retryable: boolean;
  readonly hint: string;
  readonly retryAfterMs?: number;
  readonly responseCode?: number;
  readonly rejected?: string[];
  readonly context?: Omit<MailErrorContext, 'secrets'>;
  readonly needsReconnect?: boolean;

  constructor(code: MailErrorCode, message: string, opts: MailErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MailError';
    this.code = code;
    this.retryable = opts.retryable ?? DEFAULT_RETRYABLE[code];
    this.hint = opts.hint ?? DEFAULT_HINT[code];
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
    if (opts.responseCode !== undefined) this.responseCode = opts.responseCode;
    if (opts.rejected) this.rejected = opts.rejected;
    if (opts.context) this.context = opts.context;
    if (opts.needsReconnect) this.needsReconnect = true;
  }

  /** What an API may return to a user: no stack, no cause. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      hint: this.hint,
      retryable: this.retryable,
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
      ...(this.responseCode !== undefined ? { responseCode: this.responseCode } : {}),
      ...(this.rejected ? { rejected: this.rejected } : {}),
      ...(this.needsReconnect ? { needsReconnect: true } : {}),
    };
  }
}

export function isMailError(err: unknown): err is MailError {
  return err instanceof MailError;
}

// ---------------------------------------------------------------------------------------------
// Mapping library and socket errors

/** The fields nodemailer, imapflow and Node put on their errors; all optional. */
interface ForeignError {
  name?: string;
  message?: string;
  code?: string;
  originalCode?: string;
  errno?: string | number;
  responseCode?: number;
  response?: unknown;
  responseText?: string;
  serverResponseCode?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  mailboxMissing?: boolean;
  throttleReset?: number;
  timeoutType?: string;
  rejected?: string[];
  command?: string;
  permanent?: boolean;
  statusCode?: number;
  status?: number;
  retryAfterMs?: number;
  cause?: unknown;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'EDNS']);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ECONNECTION', 'NoConnection', 'EConnectionClosed', 'StateLogout']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ETIMEOUT', 'CONNECT_TIMEOUT', 'SOCKET_TIMEOUT', 'UPGRADE_TIMEOUT', 'LockTimeout']);
const TLS_TEXT = /wrong version number|ssl3_get_record|packet length too long|unknown protocol|http request|record layer failure|ERR_SSL_|tlsv1 alert|EPROTO/i;
const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/;
const MAILBOX_TEXT = /\[NONEXISTENT\]|mailbox (?:doesn'?t|does not) exist|no such (?:mailbox|folder)|mailbox not found|unknown mailbox/i;
const QUOTA_TEXT = /\[OVERQUOTA\]|quota (?:exceeded|limit)|over quota|mailbox (?:is )?full|insufficient (?:system )?storage|\b[45]\.2\.2\b/i;
const SIZE_TEXT = /message (?:size|too (?:large|big))|size exceeds|\b5\.3\.4\b/i;
const RATE_TEXT = /rate limit|too many|throttl|try again later|\b4\.7\.0\b|sending (?:quota|limit)|SubmissionQuotaExceeded|thread limit|sending rate/i;
const RECIPIENT_TEXT = /recipient|user unknown|no such user|mailbox unavailable|address rejected|\b5\.1\.[0-9]\b/i;

function foreignCode(e: ForeignError): string | undefined {
  return typeof e.code === 'string' ? e.code : undefined;
}

function responseText(e: ForeignError): string {
  const parts = [e.message, e.responseText, typeof e.response === 'string' ? e.response : undefined, e.serverResponseCode];
  return parts.filter(Boolean).join(' ');
}

const isMicrosoftHost = (host?: string) => !!host && /(office365|outlook|microsoft|hotmail|live)\.com$/i.test(host);
const isGoogleHost = (host?: string) => !!host && /(gmail|google|googlemail)\.com$/i.test(host);

function authHint(ctx: MailErrorContext, text: string): string {
  if (isMicrosoftHost(ctx.host) || /5\.7\.139|SmtpClientAuthentication|basic auth/i.test(text)) {
    return 'Microsoft 365 rejects passwords for SMTP/IMAP on most tenants: use a Microsoft 365 account (OAuth) instead, or ask the admin to enable SMTP AUTH for this mailbox.';
  }
  if (isGoogleHost(ctx.host)) {
    return 'Google rejects the normal password: create an app password (Google account → Security → App passwords) or use OAuth.';
  }
  if (/XOAUTH2|OAUTHBEARER|invalid_token|invalid_grant|oauth/i.test(text)) {
    return 'The OAuth access token was refused: reconnect the account to get a new token, and check that the app may use IMAP/SMTP.';
  }
  return DEFAULT_HINT.AUTH_FAILED + ' For Microsoft 365 use the Microsoft 365 account type (OAuth); for Gmail an app password.';
}

function tlsHint(ctx: MailErrorContext, certificate: boolean): string {
  if (certificate) {
    return "The server's TLS certificate is not trusted (self-signed, expired or for another host name). Use the server's real host name, or install a valid certificate.";
  }
  const where = ctx.port ? ` (port ${ctx.port})` : '';
  if (ctx.security === 'ssl') {
    return `The server${where} does not speak TLS right away: choose "STARTTLS" (usually 587 for SMTP, 143 for IMAP) instead of "SSL/TLS".`;
  }
  return `The server${where} expects TLS right away: choose "SSL/TLS" (usually 465 for SMTP, 993 for IMAP) instead of "${ctx.security === 'none' ? 'none' : 'STARTTLS'}".`;
}

function describe(ctx: MailErrorContext): string {
  const what = [ctx.protocol?.toUpperCase(), ctx.operation].filter(Boolean).join(' ');
  const where = ctx.host ? ` ${ctx.host}${ctx.port ? ':' + ctx.port : ''}` : '';
  const folder = ctx.folder ? ` folder "${ctx.folder}"` : '';
  return what || where || folder ? `${what || 'mail'}${where}${folder}: ` : '';
}

/** Replaces secrets and credential-looking fragments with "***". */
export function redactSecrets(text: string, secrets: Array<string | undefined> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 3) out = out.split(secret).join('***');
  }
  return out
    .replace(/(Bearer|auth=Bearer)\s+[^\s\x01"']+/gi, '$1 ***')
    .replace(/(AUTH\s+(?:PLAIN|LOGIN|XOAUTH2)\s+)\S+/gi, '$1***')
    .replace(/(LOGIN\s+"?[^"\s]+"?\s+)"?[^"\s]+"?/gi, '$1***');
}

function retryAfterOf(e: ForeignError): number | undefined {
  if (typeof e.retryAfterMs === 'number') return e.retryAfterMs;
  if (typeof e.throttleReset === 'number') return e.throttleReset;
  return undefined;
}

function classify(e: ForeignError, ctx: MailErrorContext): { code: MailErrorCode; hint?: string; retryable?: boolean } {
  const code = foreignCode(e);
  const original = e.originalCode;
  const text = responseText(e);
  const smtp = e.responseCode;
  const http = e.statusCode ?? e.status;

  if (code === 'EABORT' || e.name === 'AbortError') return { code: 'ABORTED' };
  if (e.authenticationFailed || code === 'EAUTH' || code === 'ENOAUTH' || code === 'EOAUTH2' || e.serverResponseCode === 'AUTHENTICATIONFAILED' || smtp === 535 || http === 401) {
    return { code: 'AUTH_FAILED', hint: authHint(ctx, text) };
  }
  const certificate = CERT_CODES.test(code ?? '') || CERT_CODES.test(original ?? '');
  if (code === 'ETLS' || e.tlsFailed || certificate || TLS_TEXT.test(text) || code === 'EPROTO' || original === 'EPROTO' || code === 'ClosedAfterConnectTLS') {
    return { code: 'TLS_MISMATCH', hint: tlsHint(ctx, certificate) };
  }
  // A client that waits for a greeting on a port that waits for a TLS handshake hears nothing.
  const greetingTimeout = code === 'GREETING_TIMEOUT' || e.timeoutType === 'GREETING_TIMEOUT';
  if ((greetingTimeout || code === 'ClosedAfterConnectText') && ctx.security !== 'ssl') {
    return { code: 'TLS_MISMATCH', hint: tlsHint(ctx, false) + ' (The server sent no greeting.)' };
  }
  if (UNREACHABLE_CODES.has(code ?? '') || UNREACHABLE_CODES.has(original ?? '')) return { code: 'HOST_UNREACHABLE' };
  if (greetingTimeout || TIMEOUT_CODES.has(code ?? '') || TIMEOUT_CODES.has(original ?? '')) return { code: 'TIMEOUT' };
  if (LOST_CODES.has(code ?? '') || LOST_CODES.has(original ?? '') || /connection (?:closed|lost|reset)|socket hang up|unexpected close/i.test(text)) {
    return { code: 'CONNECTION_LOST' };
  }
  if (e.mailboxMissing || code === 'NotFound' || e.serverResponseCode === 'NONEXISTENT' || MAILBOX_TEXT.test(text)) {
    return { code: 'MAILBOX_MISSING' };
  }
  if (smtp === 552 && SIZE_TEXT.test(text)) {
    return { code: 'PROVIDER_ERROR', retryable: false, hint: 'The message is larger than the server accepts. Send smaller or fewer attachments.' };
  }
  if (e.serverResponseCode === 'OVERQUOTA' || QUOTA_TEXT.test(text) || smtp === 552) return { code: 'QUOTA_EXCEEDED' };
  if (code === 'ETHROTTLE' || http === 429 || ((smtp === 421 || smtp === 450 || smtp === 451 || smtp === 454 || smtp === 432 || smtp === 550 || smtp === 554) && RATE_TEXT.test(text))) {
    return { code: 'RATE_LIMITED' };
  }
  const rcptCommand = /^RCPT/i.test(e.command ?? '');
  if (code === 'EENVELOPE' && (e.rejected?.length || rcptCommand || RECIPIENT_TEXT.test(text))) {
    return { code: 'RECIPIENT_REJECTED', retryable: smtp !== undefined && smtp < 500 };
  }
  if (rcptCommand && smtp !== undefined) return { code: 'RECIPIENT_REJECTED', retryable: smtp < 500 };
  if (smtp !== undefined) return { code: 'PROVIDER_ERROR', retryable: smtp < 500 || smtp === 503 };
  if (http !== undefined) return { code: 'PROVIDER_ERROR', retryable: http >= 500 || http === 408 };
  if (e.permanent === true) return { code: 'PROVIDER_ERROR', retryable: false };
  return { code: 'PROVIDER_ERROR' };
}

/**
 * Maps whatever nodemailer, imapflow, Node's sockets (or later an HTTP client) threw to a MailError.
 * A MailError passes through unchanged.
 */
export function toMailError(err: unknown, context: MailErrorContext = {}): MailError {
  if (err instanceof MailError) return err;
  const e: ForeignError = err && typeof err === 'object' ? (err as ForeignError) : { message: String(err) };
  const { code, hint, retryable } = classify(e, context);
  const raw = e.message || e.responseText || foreignCode(e) || 'unknown error';
  const detail = [raw, e.responseText && !raw.includes(e.responseText) ? e.responseText : undefined].filter(Boolean).join(' – ');
  const message = redactSecrets(describe(context) + detail, context.secrets);
  const { secrets: _secrets, ...safeContext } = context;
  const rejected = Array.isArray(e.rejected) && e.rejected.length ? e.rejected : undefined;
  return new MailError(code, message, {
    hint,
    retryable,
    retryAfterMs: retryAfterOf(e) ?? (code === 'RATE_LIMITED' ? 60_000 : undefined),
    responseCode: e.responseCode ?? e.statusCode ?? e.status,
    rejected,
    context: safeContext,
    cause: err,
  });
}

/** A source or transport used after close(). */
export function closedError(what: 'source' | 'transport'): MailError {
  return new MailError('CONNECTION_LOST', `The mail ${what} is closed.`, { retryable: false, hint: 'Open the account again.' });
}
