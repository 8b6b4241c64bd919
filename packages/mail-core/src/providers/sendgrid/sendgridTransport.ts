import { MailError } from '../../errors';
import { assertSafeHeaders } from '../../mime/assertSafeHeaders';
import { ensureMessageId } from '../../mime/messageId';
import type { MailTransport, OutgoingMessage, SendOptions, SendResult } from '../../types';
import { assertSendGridConfig, sendGridBaseUrl, SENDGRID_MAX_RECIPIENTS_PER_REQUEST, type SendGridAccountConfig } from './sendgridConfig';
import {
  MAIL_SEND_HINT,
  parseSendGridErrors,
  sendGridHttpError,
  sendGridNetworkError,
  sendGridRetryAfterMs,
  type SendGridErrorContext,
} from './sendgridErrors';
import { OUTBOX_CUSTOM_ARG, planMailSend } from './sendgridPayload';

export interface SendGridRetryOptions {
  /** Extra attempts after a 429; default 3. */
  maxRetries?: number;
  /** Backoff when SendGrid names no reset time; doubles per attempt (with jitter); default 500 ms. */
  baseDelayMs?: number;
  /** Longest wait inside one send; a later reset fails at once with RATE_LIMITED + retryAfterMs. Default 10 s. */
  maxDelayMs?: number;
}

export interface SendGridTransportOptions {
  retry?: SendGridRetryOptions;
  /** Per HTTP request; default 60 s. */
  requestTimeoutMs?: number;
  /** Recipients per mail/send request; default and maximum 1000. */
  maxRecipientsPerRequest?: number;
}

export interface SendGridSendOptions extends SendOptions {
  /** Sent as custom_args.mailbridge_outbox_id: comes back in SendGrid's event webhook. */
  outboxId?: string | number;
  /** More custom_args (string values). */
  customArgs?: Record<string, string>;
}

export interface SendGridRequestResult {
  /** X-Message-Id of the request. */
  providerMessageId: string;
  recipients: string[];
}

export interface SendGridFailedPart {
  recipients: string[];
  error: MailError;
}

export interface SendGridSendResult extends SendResult {
  /** One entry per mail/send request; the first is `providerMessageId`. */
  requests: SendGridRequestResult[];
  /** Requests that failed after an earlier one was accepted; their recipients are in `rejected`. */
  failures: SendGridFailedPart[];
}

export interface SendGridKeyStatus {
  scopes: string[];
  canSend: boolean;
}

interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends through SendGrid's v3 Web API (`POST /v3/mail/send`). SendGrid composes the MIME itself, so
 * the message goes as JSON: recipients as personalizations, our Message-ID, In-Reply-To and References
 * as custom headers (SendGrid does not reserve them), so replies thread like with SMTP.
 */
export class SendGridTransport implements MailTransport {
  private readonly baseUrl: string;
  private readonly host: string;
  private readonly retry: Required<SendGridRetryOptions>;

  constructor(private readonly config: SendGridAccountConfig, private readonly opts: SendGridTransportOptions = {}) {
    assertSendGridConfig(config);
    this.baseUrl = sendGridBaseUrl(config);
    this.host = new URL(this.baseUrl).host;
    this.retry = { maxRetries: 3, baseDelayMs: 500, maxDelayMs: 10_000, ...opts.retry };
  }

  private context(operation: SendGridErrorContext['operation']): SendGridErrorContext {
    return { operation, host: this.host, apiKey: this.config.apiKey.trim() };
  }

  private async request(method: 'GET' | 'POST', path: string, body: unknown, ctx: SendGridErrorContext, signal?: AbortSignal): Promise<HttpAnswer> {
    const timeout = AbortSignal.timeout(this.opts.requestTimeoutMs ?? 60_000);
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${ctx.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      return { status: res.status, headers: res.headers, text: await res.text() };
    } catch (err) {
      throw sendGridNetworkError(err, ctx, !!signal?.aborted);
    }
  }

  /** One request, with bounded retries on 429 only (anything else could double a mail). */
  private async requestWithRetry(method: 'GET' | 'POST', path: string, body: unknown, ctx: SendGridErrorContext, signal?: AbortSignal): Promise<HttpAnswer> {
    for (let attempt = 0; ; attempt++) {
      const answer = await this.request(method, path, body, ctx, signal);
      if (answer.status < 300) return answer;
      const retryAfterMs = answer.status === 429 ? sendGridRetryAfterMs(answer.headers) : undefined;
      const error = sendGridHttpError({ status: answer.status, errors: parseSendGridErrors(answer.text), retryAfterMs }, ctx);
      if (answer.status !== 429 || attempt >= this.retry.maxRetries) throw error;
      const backoff = this.retry.baseDelayMs * 2 ** attempt * (0.5 + Math.random() / 2);
      // a reset time in the past (clock skew, or it just passed) still gets a short pause
      const wait = retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : backoff;
      if (wait > this.retry.maxDelayMs) throw error;
      try {
        await sleep(wait, signal);
      } catch (err) {
        throw sendGridNetworkError(err, ctx, true);
      }
    }
  }

  async send(msg: OutgoingMessage, opts: SendGridSendOptions = {}): Promise<SendGridSendResult> {
    assertSafeHeaders(msg);
    const messageId = ensureMessageId(msg);
    const customArgs: Record<string, string> = { ...(opts.customArgs ?? {}) };
    if (opts.outboxId !== undefined) customArgs[OUTBOX_CUSTOM_ARG] = String(opts.outboxId);
    const plans = await planMailSend(msg, messageId, {
      categories: this.config.categories,
      customArgs,
      maxRecipientsPerRequest: Math.min(this.opts.maxRecipientsPerRequest ?? SENDGRID_MAX_RECIPIENTS_PER_REQUEST, SENDGRID_MAX_RECIPIENTS_PER_REQUEST),
    });
    const ctx = this.context('send');
    const requests: SendGridRequestResult[] = [];
    const failures: SendGridFailedPart[] = [];
    for (let i = 0; i < plans.length; i++) {
      try {
        const answer = await this.requestWithRetry('POST', '/v3/mail/send', plans[i].body, ctx, opts.signal);
        requests.push({ providerMessageId: answer.headers.get('x-message-id') ?? '', recipients: plans[i].recipients });
      } catch (err) {
        const error = err instanceof MailError ? err : sendGridNetworkError(err, ctx, !!opts.signal?.aborted);
        if (requests.length === 0) throw error;
        // an earlier request was accepted: report the rest instead of failing (a retry would double it)
        failures.push({ recipients: plans.slice(i).flatMap((p) => p.recipients), error });
        break;
      }
    }
    return {
      providerMessageId: requests[0].providerMessageId || messageId,
      messageId,
      accepted: requests.flatMap((r) => r.recipients),
      rejected: failures.flatMap((f) => f.recipients),
      requests,
      failures,
    };
  }

  /** GET /v3/scopes: the permissions of the API key. */
  async keyStatus(): Promise<SendGridKeyStatus> {
    const ctx = this.context('connect');
    const answer = await this.requestWithRetry('GET', '/v3/scopes', undefined, ctx);
    let scopes: string[] = [];
    try {
      const body = JSON.parse(answer.text) as { scopes?: unknown };
      if (Array.isArray(body.scopes)) scopes = body.scopes.filter((s): s is string => typeof s === 'string');
    } catch {
      throw new MailError('PROVIDER_ERROR', `SendGrid connect ${this.host}: GET /v3/scopes did not answer JSON.`, {
        hint: 'Check the API base URL of the account.',
        retryable: false,
        context: { protocol: 'sendgrid', operation: 'connect', host: this.host },
      });
    }
    return { scopes, canSend: scopes.includes('mail.send') };
  }

  /** The key is valid and may send mail; AUTH_FAILED otherwise. */
  async verify(): Promise<void> {
    const status = await this.keyStatus();
    if (!status.canSend) {
      throw new MailError('AUTH_FAILED', 'SendGrid connect: the API key does not have the Mail Send permission (scope mail.send).', {
        hint: MAIL_SEND_HINT,
        retryable: false,
        context: { protocol: 'sendgrid', operation: 'connect', host: this.host },
      });
    }
  }

  async close(): Promise<void> {
    // stateless: fetch keeps no connection of ours open
  }
}

export function createSendGridTransport(config: SendGridAccountConfig, opts: SendGridTransportOptions = {}): SendGridTransport {
  return new SendGridTransport(config, opts);
}
