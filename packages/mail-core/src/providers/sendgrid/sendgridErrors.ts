import { MailError, redactSecrets, toMailError, type MailErrorCode } from '../../errors';

/** One entry of SendGrid's error body `{ "errors": [{ "message", "field", "help" }] }`. */
export interface SendGridErrorItem {
  message?: string;
  field?: string | null;
  help?: unknown;
}

export interface SendGridHttpFailure {
  status: number;
  errors: SendGridErrorItem[];
  /** Milliseconds until SendGrid accepts requests again (X-RateLimit-Reset / Retry-After). */
  retryAfterMs?: number;
}

export interface SendGridErrorContext {
  operation: 'send' | 'connect';
  host: string;
  apiKey: string;
}

export const MAIL_SEND_HINT = 'Check the API key; it needs the Mail Send permission (SendGrid → Settings → API Keys → Mail Send: Full Access).';

export function parseSendGridErrors(text: string): SendGridErrorItem[] {
  try {
    const body = JSON.parse(text) as { errors?: unknown };
    if (Array.isArray(body.errors)) {
      return body.errors.filter((e): e is SendGridErrorItem => !!e && typeof e === 'object');
    }
  } catch {
    // not JSON: fall through
  }
  const trimmed = text.trim();
  return trimmed ? [{ message: trimmed.slice(0, 300) }] : [];
}

function describeErrors(errors: SendGridErrorItem[]): string {
  return errors
    .map((e) => (e.field ? `${e.message ?? 'invalid'} (field ${e.field})` : e.message ?? 'error'))
    .filter(Boolean)
    .join('; ');
}

/** Retry-After (seconds or HTTP date) or X-RateLimit-Reset (Unix seconds) in ms from now. */
export function sendGridRetryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.round(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = headers.get('x-ratelimit-reset')?.trim();
  if (reset && /^\d+(\.\d+)?$/.test(reset)) return Math.max(0, Math.round(Number(reset) * 1000 - now));
  return undefined;
}

interface Classified {
  code: MailErrorCode;
  hint: string;
  retryable?: boolean;
  retryAfterMs?: number;
}

function classify(failure: SendGridHttpFailure): Classified {
  const { status, errors } = failure;
  const text = describeErrors(errors);
  const senderIdentity = errors.some((e) => e.field === 'from' || /sender identity|verified sender/i.test(e.message ?? ''));
  if (status === 403 && senderIdentity) {
    return {
      code: 'PROVIDER_ERROR',
      hint: 'The sender address is not a verified Sender Identity in SendGrid. Verify the address (Single Sender Verification) or authenticate its domain in SendGrid → Settings → Sender Authentication.',
      retryable: false,
    };
  }
  if (status === 401 || status === 403) {
    return { code: 'AUTH_FAILED', hint: MAIL_SEND_HINT };
  }
  if (status === 429) {
    return {
      code: 'RATE_LIMITED',
      hint: "SendGrid's rate limit or the plan's sending credits are exhausted. It is retried automatically later.",
      retryAfterMs: failure.retryAfterMs ?? 60_000,
    };
  }
  if (status === 413) {
    return {
      code: 'PROVIDER_ERROR',
      hint: 'The message is too large for SendGrid (at most 30 MB per request, attachments included after base64 encoding). Send smaller or fewer attachments.',
      retryable: false,
    };
  }
  if (status === 400) {
    return {
      code: 'PROVIDER_ERROR',
      hint: `SendGrid refused the message: ${text || 'bad request'}. Correct it and send again.`,
      retryable: false,
    };
  }
  if (status >= 500) {
    return { code: 'PROVIDER_ERROR', hint: 'SendGrid had a temporary problem. It is retried automatically.', retryable: true };
  }
  return { code: 'PROVIDER_ERROR', hint: `SendGrid answered HTTP ${status}. See the details.`, retryable: status === 408 };
}

export function sendGridHttpError(failure: SendGridHttpFailure, ctx: SendGridErrorContext): MailError {
  const c = classify(failure);
  const detail = describeErrors(failure.errors) || `HTTP ${failure.status}`;
  return new MailError(c.code, redactSecrets(`SendGrid ${ctx.operation} (HTTP ${failure.status}): ${detail}`, [ctx.apiKey]), {
    hint: redactSecrets(c.hint, [ctx.apiKey]),
    retryable: c.retryable,
    retryAfterMs: c.retryAfterMs,
    responseCode: failure.status,
    context: { protocol: 'sendgrid', operation: ctx.operation, host: ctx.host },
  });
}

/** A failed fetch (no HTTP answer): network, timeout, abort. */
export function sendGridNetworkError(err: unknown, ctx: SendGridErrorContext, userAborted: boolean): MailError {
  if (err instanceof MailError) return err;
  const context = { protocol: 'sendgrid', operation: ctx.operation, host: ctx.host };
  const name = (err as { name?: string } | undefined)?.name;
  if (userAborted) return new MailError('ABORTED', `SendGrid ${ctx.operation}: the operation was cancelled.`, { context });
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new MailError('TIMEOUT', `SendGrid ${ctx.operation} ${ctx.host}: no answer in time.`, {
      hint: 'SendGrid did not answer in time. It is retried automatically; if it keeps happening, check the network.',
      context,
      cause: err,
    });
  }
  // fetch wraps the socket error: TypeError("fetch failed", { cause: { code: 'ECONNREFUSED' } })
  const cause = (err as { cause?: unknown } | undefined)?.cause ?? err;
  const mapped = toMailError(cause, { protocol: 'sendgrid', operation: ctx.operation, host: ctx.host, secrets: [ctx.apiKey] });
  const detail = (cause as { message?: string } | undefined)?.message || (err as { message?: string } | undefined)?.message || 'request failed';
  return new MailError(mapped.code, redactSecrets(`SendGrid ${ctx.operation} ${ctx.host}: ${detail}`, [ctx.apiKey]), {
    hint:
      mapped.code === 'HOST_UNREACHABLE'
        ? `Could not reach SendGrid at ${ctx.host}. Check that this server may open HTTPS connections to it (proxy, firewall, DNS).`
        : mapped.hint,
    retryable: mapped.retryable,
    context,
    cause: err,
  });
}
