import { MailError, redactSecrets, toMailError, type MailErrorCode } from '../../errors';

/** The fields the AWS SDK v3 puts on the errors it throws; all optional. */
export interface AwsErrorLike {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

export interface SesErrorContext {
  region: string;
  host: string;
  operation: 'send' | 'connect';
  secrets: Array<string | undefined>;
  /** From and Sender addresses: tells a sender identity from a recipient in "not verified". */
  senderAddresses?: string[];
  configurationSetName?: string;
}

const THROTTLING = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);
const BAD_CREDENTIALS = new Set([
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'IncompleteSignature',
  'IncompleteSignatureException',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'InvalidAccessKeyId',
  'ExpiredToken',
  'ExpiredTokenException',
  'AuthFailure',
]);
const ACCESS_DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'NotAuthorized']);
const CLOCK_SKEW = new Set(['RequestExpired', 'RequestTimeTooSkewed', 'RequestInTheFuture']);
const CLOCK_SKEW_TEXT = /signature expired|signature not yet current|time ?stamp|too skewed/i;

export const isAwsError = (err: unknown): err is AwsErrorLike =>
  !!err && typeof err === 'object' && typeof (err as AwsErrorLike).$metadata === 'object';

export function httpStatusOf(err: AwsErrorLike): number | undefined {
  return err.$metadata?.httpStatusCode ?? err.$response?.statusCode;
}

/** True for the answers that mean "too fast, try again shortly" (not for an exhausted daily quota). */
export function isSesThrottle(err: unknown): boolean {
  if (!isAwsError(err)) return false;
  return THROTTLING.has(err.name ?? '') || httpStatusOf(err) === 429;
}

function headerOf(err: AwsErrorLike, name: string): string | undefined {
  const headers = err.$response?.headers ?? {};
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** Retry-After (seconds or an HTTP date) of an HTTP answer, in ms from now. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function sesRetryAfterMs(err: unknown): number | undefined {
  return isAwsError(err) ? parseRetryAfter(headerOf(err, 'retry-after')) : undefined;
}

const IAM_ACTIONS = (ctx: SesErrorContext) =>
  `ses:SendEmail and ses:SendRawEmail${ctx.operation === 'connect' ? ' (and ses:GetAccount for the connection test)' : ''}`;

/** "The following identities failed the check in region EU-WEST-1: a@x.test, b@y.test" → the addresses. */
function identitiesNamedIn(text: string): string[] {
  const match = /identities failed the check in region [\w-]+:\s*(.+)$/i.exec(text.trim());
  if (!match) return [];
  return match[1]
    .split(/[,\s]+/)
    .map((s) => s.trim().replace(/[.;]$/, ''))
    .filter(Boolean);
}

interface Classified {
  code: MailErrorCode;
  hint: string;
  retryable?: boolean;
  retryAfterMs?: number;
  rejected?: string[];
}

function classify(err: AwsErrorLike, ctx: SesErrorContext): Classified | undefined {
  const name = err.name ?? err.code ?? '';
  const status = httpStatusOf(err);
  const text = err.message ?? '';
  const region = ctx.region;

  if (CLOCK_SKEW.has(name) || ((BAD_CREDENTIALS.has(name) || status === 403) && CLOCK_SKEW_TEXT.test(text))) {
    return {
      code: 'AUTH_FAILED',
      hint: "AWS refused the request time: this server's clock is off by more than 5 minutes. Synchronise the clock (NTP) and try again.",
    };
  }
  if (BAD_CREDENTIALS.has(name)) {
    return {
      code: 'AUTH_FAILED',
      hint:
        `AWS did not accept the access key (${name}). Copy the access key ID and the secret access key again ` +
        `(a deactivated or deleted key fails the same way); the IAM user needs ${IAM_ACTIONS(ctx)} in ${region}.`,
    };
  }
  if (ACCESS_DENIED.has(name) || (status === 403 && name !== 'MessageRejected')) {
    return {
      code: 'AUTH_FAILED',
      hint: `The access key is valid but its IAM policy does not allow this. Allow ${IAM_ACTIONS(ctx)} for the sending identity in ${region}.`,
    };
  }
  if (isSesThrottle(err)) {
    return {
      code: 'RATE_LIMITED',
      hint:
        "Amazon SES is throttling: the account's maximum send rate (messages per second) is exceeded. It is retried automatically; " +
        'if it keeps happening, request a higher sending quota in the SES console.',
      retryAfterMs: sesRetryAfterMs(err) ?? 30_000,
    };
  }
  switch (name) {
    case 'LimitExceededException':
      return {
        code: 'RATE_LIMITED',
        hint:
          'Amazon SES reports that a sending limit is reached (for example the daily sending quota). It is retried automatically later; ' +
          'request a higher sending quota in the SES console if it keeps happening.',
        retryAfterMs: sesRetryAfterMs(err) ?? 15 * 60_000,
      };
    case 'MessageRejected': {
      const identities = identitiesNamedIn(text);
      if (identities.length || /not verified/i.test(text)) {
        const senders = new Set((ctx.senderAddresses ?? []).map((a) => a.toLowerCase()));
        const recipients = identities.filter((id) => !senders.has(id.toLowerCase()));
        if (identities.length && recipients.length === identities.length) {
          return {
            code: 'RECIPIENT_REJECTED',
            hint:
              `The SES account is in the sandbox in ${region}: it only sends to verified addresses. Verify ${recipients.join(', ')} ` +
              'in the SES console, or request production access for the account.',
            rejected: recipients,
            retryable: false,
          };
        }
        const who = identities.filter((id) => senders.has(id.toLowerCase()));
        return {
          code: 'PROVIDER_ERROR',
          hint: `The sender ${who.length ? who.join(', ') : 'address'} is not a verified identity in ${region}. Verify the address or its domain in the Amazon SES console of that region.`,
          retryable: false,
        };
      }
      return {
        code: 'PROVIDER_ERROR',
        hint: `Amazon SES refused the message: ${text || 'no reason given'}. Check the addresses and the attachments (SES refuses some file types, e.g. .exe).`,
        retryable: false,
      };
    }
    case 'MailFromDomainNotVerifiedException':
      return {
        code: 'PROVIDER_ERROR',
        hint:
          'The custom MAIL FROM domain of the sending identity is not verified: publish its MX and SPF (TXT) records in DNS, ' +
          'or turn the custom MAIL FROM domain off in the SES console.',
        retryable: false,
      };
    case 'AccountSuspendedException':
      return {
        code: 'PROVIDER_ERROR',
        hint:
          'Amazon SES has suspended sending for this AWS account (usually because of too many bounces or complaints). ' +
          'Check the reputation dashboard in the SES console and contact AWS Support.',
        retryable: false,
      };
    case 'SendingPausedException':
      return {
        code: 'PROVIDER_ERROR',
        hint:
          `Sending is paused for this SES account${ctx.configurationSetName ? ` or for the configuration set "${ctx.configurationSetName}"` : ''} in ${region}. ` +
          'Resume sending in the SES console.',
        retryable: false,
      };
    case 'NotFoundException':
      return {
        code: 'PROVIDER_ERROR',
        hint:
          `Amazon SES could not find a resource in ${region}: ${text || 'not found'}. Check the configuration set name` +
          `${ctx.configurationSetName ? ` ("${ctx.configurationSetName}")` : ''} and the region of the sending identity.`,
        retryable: false,
      };
    case 'BadRequestException':
      return { code: 'PROVIDER_ERROR', hint: `Amazon SES refused the request: ${text || 'bad request'}.`, retryable: false };
    default:
      break;
  }
  if (status !== undefined) {
    const serverSide = status >= 500 || err.$fault === 'server';
    return {
      code: 'PROVIDER_ERROR',
      hint: serverSide
        ? 'Amazon SES had a temporary problem. It is retried automatically.'
        : `Amazon SES refused the request (${name || status}). See the details.`,
      retryable: serverSide || status === 408,
    };
  }
  return undefined;
}

const SOCKET_CODE = /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|EADDRNOTAVAIL|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|EPROTO)\b/;

/**
 * The socket error behind a failed request. The SDK passes Node's error through, but wraps a value
 * that is not an `Error` of its own realm (jest's VM, worker threads) into a plain Error whose only
 * trace of the code is the message text.
 */
function socketErrorOf(err: AwsErrorLike): AwsErrorLike {
  if (typeof err.code === 'string' && err.code) return err;
  const message = (err.message ?? '').replace(/^AWS SDK error wrapper for (?:Error: )?/, '');
  const code = SOCKET_CODE.exec(message)?.[1];
  return code ? { name: err.name, message, code } : { ...err, message };
}

/** Maps what the SES client threw to a MailError; the secret key never appears in it. */
export function toSesMailError(err: unknown, ctx: SesErrorContext): MailError {
  if (err instanceof MailError) return err;
  const where = `Amazon SES ${ctx.operation} (${ctx.region})`;
  const aws = (err && typeof err === 'object' ? err : { message: String(err) }) as AwsErrorLike;
  if (aws.name === 'AbortError') {
    return new MailError('ABORTED', `${where}: the operation was cancelled.`, { context: { protocol: 'ses', operation: ctx.operation, host: ctx.host } });
  }
  if (aws.name === 'TimeoutError') {
    return new MailError('TIMEOUT', redactSecrets(`${where}: ${aws.message ?? 'timed out'}`, ctx.secrets), {
      hint: `Amazon SES at ${ctx.host} did not answer in time. It is retried automatically; if it keeps happening, check the network and the region.`,
      context: { protocol: 'ses', operation: ctx.operation, host: ctx.host },
      cause: err,
    });
  }
  const classified = isAwsError(err) ? classify(aws, ctx) : undefined;
  if (!classified) {
    // no HTTP answer: DNS, refused connection, TLS, socket errors
    const socket = socketErrorOf(aws);
    const mapped = toMailError(socket, { protocol: 'ses', operation: ctx.operation, host: ctx.host, secrets: ctx.secrets });
    return new MailError(mapped.code, redactSecrets(`${where} ${ctx.host}: ${socket.message || socket.code || 'request failed'}`, ctx.secrets), {
      hint:
        mapped.code === 'HOST_UNREACHABLE'
          ? `Could not reach Amazon SES at ${ctx.host}. Check the region and that this server may open HTTPS connections to it (proxy, firewall, DNS).`
          : mapped.hint,
      retryable: mapped.retryable,
      context: mapped.context,
      cause: err,
    });
  }
  const label = aws.name && aws.name !== 'Error' ? `${aws.name}: ` : '';
  const message = redactSecrets(`${where}: ${label}${aws.message || 'request failed'}`, ctx.secrets);
  return new MailError(classified.code, message, {
    hint: redactSecrets(classified.hint, ctx.secrets),
    retryable: classified.retryable,
    retryAfterMs: classified.retryAfterMs,
    responseCode: httpStatusOf(aws),
    rejected: classified.rejected,
    context: { protocol: 'ses', operation: ctx.operation, host: ctx.host },
    cause: err,
  });
}
