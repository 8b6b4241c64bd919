import { GetAccountCommand, SendEmailCommand, SESv2Client, type GetAccountCommandOutput, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { MailError } from '../../errors';
import { buildMime } from '../../mime/buildMime';
import type { MailTransport, OutgoingMessage, SendOptions, SendResult } from '../../types';
import { assertSesConfig, sesEndpointHost, sesHeaderMessageId, SES_MAX_RECIPIENTS_PER_MESSAGE, type SesAccountConfig } from './sesConfig';
import { isSesThrottle, sesRetryAfterMs, toSesMailError, type SesErrorContext } from './sesErrors';
import { chunk, envelopeRecipients, sesDestination, type EnvelopeRecipient } from './sesRecipients';

export interface SesRetryOptions {
  /** Extra attempts after a throttled (429) answer; default 3. */
  maxRetries?: number;
  /** First backoff when SES sends no Retry-After; doubles per attempt (with jitter); default 200 ms. */
  baseDelayMs?: number;
  /** Longest wait inside one send; a longer Retry-After fails at once with RATE_LIMITED + retryAfterMs. Default 10 s. */
  maxDelayMs?: number;
}

export interface SesTransportOptions {
  retry?: SesRetryOptions;
  /** TCP + TLS connect timeout; default 10 s. */
  connectTimeoutMs?: number;
  /** Whole-request timeout; default 60 s. */
  requestTimeoutMs?: number;
}

export interface SesSendOptions extends SendOptions {
  /** Tagged on the message (`mailbridge-outbox-id`), so SES events can be matched to the outbox row. */
  outboxId?: string | number;
}

/** One SendEmail call: SES gives each its own MessageId, so each group of recipients has its own Message-ID. */
export interface SesDelivery {
  providerMessageId: string;
  messageId: string;
  recipients: string[];
}

export interface SesFailedPart {
  recipients: string[];
  error: MailError;
}

export interface SesSendResult extends SendResult {
  /** One entry per SendEmail call, in order; the first is `providerMessageId` / `messageId`. */
  deliveries: SesDelivery[];
  /** Groups of recipients whose call failed after an earlier group was accepted; they are in `rejected`. */
  failures: SesFailedPart[];
}

export interface SesAccountStatus {
  sendingEnabled: boolean;
  /** False while the account is in the SES sandbox (only verified recipients, small quota). */
  productionAccess: boolean;
  /** HEALTHY, PROBATION or SHUTDOWN. */
  enforcementStatus?: string;
  quota?: { max24HourSend?: number; maxSendRate?: number; sentLast24Hours?: number };
  /** One readable sentence for the "test connection" dialog. */
  summary: string;
}

const OUTBOX_TAG = 'mailbridge-outbox-id';

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): Error {
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  return err;
}

/** SES message tag values: letters, digits, '_' and '-', at most 256 characters. */
function tagValue(value: string | number): string {
  return String(value).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256) || '_';
}

function describeAccount(status: Omit<SesAccountStatus, 'summary'>, region: string): string {
  const parts: string[] = [];
  parts.push(status.sendingEnabled ? `Sending is enabled in ${region}.` : `Sending is disabled for this account in ${region}.`);
  if (!status.productionAccess) {
    parts.push('The account is in the SES sandbox: it only sends to verified addresses; request production access in the SES console.');
  }
  if (status.enforcementStatus && status.enforcementStatus !== 'HEALTHY') parts.push(`Enforcement status: ${status.enforcementStatus}.`);
  const q = status.quota;
  if (q && q.max24HourSend !== undefined) {
    const max = q.max24HourSend < 0 ? 'unlimited' : String(q.max24HourSend);
    parts.push(`Quota: ${q.sentLast24Hours ?? 0} of ${max} messages in the last 24 h, at most ${q.maxSendRate ?? '?'} per second.`);
  }
  return parts.join(' ');
}

/**
 * Sends through Amazon SES (API v2 `SendEmail` with raw content). The message is built once by
 * `buildMime` (the same MIME as over SMTP, without a Bcc header); SES's `Destination` is the envelope.
 * More recipients than SES allows per message are split into several calls with the same MIME.
 */
export class SesTransport implements MailTransport {
  private readonly client: SESv2Client;
  private readonly maxRecipients: number;
  private readonly retry: Required<SesRetryOptions>;
  private readonly baseContext: Omit<SesErrorContext, 'operation'>;

  constructor(private readonly config: SesAccountConfig, opts: SesTransportOptions = {}) {
    assertSesConfig(config);
    this.maxRecipients = config.maxRecipientsPerMessage ?? SES_MAX_RECIPIENTS_PER_MESSAGE;
    this.retry = { maxRetries: 3, baseDelayMs: 200, maxDelayMs: 10_000, ...opts.retry };
    this.client = new SESv2Client({
      region: config.region.trim(),
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      credentials: { accessKeyId: config.accessKeyId.trim(), secretAccessKey: config.secretAccessKey },
      // retries are ours: only throttling is retried, with a bounded, configurable backoff
      maxAttempts: 1,
      requestHandler: { connectionTimeout: opts.connectTimeoutMs ?? 10_000, requestTimeout: opts.requestTimeoutMs ?? 60_000 },
    });
    this.baseContext = {
      region: config.region.trim(),
      host: sesEndpointHost(config),
      secrets: [config.secretAccessKey],
      configurationSetName: config.configurationSetName,
    };
  }

  async send(msg: OutgoingMessage, opts: SesSendOptions = {}): Promise<SesSendResult> {
    const ctx: SesErrorContext = {
      ...this.baseContext,
      operation: 'send',
      senderAddresses: [msg.from.address, msg.sender?.address].filter((a): a is string => !!a).map((a) => a.trim()),
    };
    // throws INVALID_HEADER before anything goes out; Bcc is left out of the headers
    const built = await buildMime(msg);
    const recipients = envelopeRecipients(msg);
    if (recipients.length === 0) {
      throw new MailError('PROVIDER_ERROR', 'The message has no recipients; nothing was sent.', { retryable: false, hint: 'Add at least one recipient.' });
    }
    const deliveries: SesDelivery[] = [];
    const failures: SesFailedPart[] = [];
    const parts = chunk(recipients, this.maxRecipients);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      try {
        deliveries.push(await this.sendPart(built.raw, built.envelope.from, part, opts, ctx));
      } catch (err) {
        const error = toSesMailError(err, ctx);
        // nothing went out yet: the whole send failed and may be retried as a whole
        if (deliveries.length === 0 && failures.length === 0) throw error;
        // an earlier group was accepted: report, never resend it. A refusal of this group's content or
        // addresses may not hit the next group; anything else (auth, throttling, network) would.
        const name = (err as { name?: string } | undefined)?.name;
        const groupOnly = error.code === 'RECIPIENT_REJECTED' || name === 'MessageRejected' || name === 'BadRequestException';
        const left = groupOnly ? part : parts.slice(i).flat();
        failures.push({ recipients: left.map((r) => r.address), error });
        if (!groupOnly) break;
      }
    }
    if (deliveries.length === 0) throw failures[0].error;
    const [first] = deliveries;
    return {
      providerMessageId: first.providerMessageId,
      messageId: first.messageId,
      accepted: deliveries.flatMap((d) => d.recipients),
      rejected: failures.flatMap((f) => f.recipients),
      deliveries,
      failures,
    };
  }

  private async sendPart(raw: Buffer, envelopeFrom: string, part: EnvelopeRecipient[], opts: SesSendOptions, ctx: SesErrorContext): Promise<SesDelivery> {
    const input: SendEmailCommandInput = {
      FromEmailAddress: envelopeFrom,
      Destination: sesDestination(part),
      Content: { Raw: { Data: raw } },
      ...(this.config.configurationSetName ? { ConfigurationSetName: this.config.configurationSetName } : {}),
      ...(opts.outboxId !== undefined ? { EmailTags: [{ Name: OUTBOX_TAG, Value: tagValue(opts.outboxId) }] } : {}),
    };
    const out = await this.withThrottleRetry(() => this.client.send(new SendEmailCommand(input), { abortSignal: opts.signal }), opts.signal, ctx);
    if (!out.MessageId) {
      throw new MailError('PROVIDER_ERROR', `Amazon SES send (${ctx.region}): the answer carried no MessageId.`, { retryable: false });
    }
    return {
      providerMessageId: out.MessageId,
      messageId: sesHeaderMessageId(out.MessageId, this.config.region),
      recipients: part.map((r) => r.address),
    };
  }

  private async withThrottleRetry<T>(call: () => Promise<T>, signal: AbortSignal | undefined, ctx: SesErrorContext): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (!isSesThrottle(err) || attempt >= this.retry.maxRetries) throw err;
        const asked = sesRetryAfterMs(err);
        const backoff = this.retry.baseDelayMs * 2 ** attempt * (0.5 + Math.random() / 2);
        const wait = asked ?? backoff;
        if (wait > this.retry.maxDelayMs) {
          const mapped = toSesMailError(err, ctx);
          throw new MailError(mapped.code, mapped.message, { hint: mapped.hint, retryAfterMs: wait, responseCode: mapped.responseCode, context: mapped.context, cause: err });
        }
        await sleep(wait, signal);
      }
    }
  }

  /** GetAccount: checks the credentials and tells whether the account may send, and how much. */
  async accountStatus(): Promise<SesAccountStatus> {
    const ctx: SesErrorContext = { ...this.baseContext, operation: 'connect' };
    let out: GetAccountCommandOutput;
    try {
      out = await this.withThrottleRetry(() => this.client.send(new GetAccountCommand({})), undefined, ctx);
    } catch (err) {
      throw toSesMailError(err, ctx);
    }
    const status = {
      sendingEnabled: out.SendingEnabled !== false,
      productionAccess: out.ProductionAccessEnabled === true,
      enforcementStatus: out.EnforcementStatus,
      quota: out.SendQuota
        ? { max24HourSend: out.SendQuota.Max24HourSend, maxSendRate: out.SendQuota.MaxSendRate, sentLast24Hours: out.SendQuota.SentLast24Hours }
        : undefined,
    };
    return { ...status, summary: describeAccount(status, ctx.region) };
  }

  /** Throws AUTH_FAILED for bad credentials, PROVIDER_ERROR when the account may not send at all. */
  async verify(): Promise<void> {
    this.assertCanSend(await this.accountStatus());
  }

  /** PROVIDER_ERROR when GetAccount says the account may not send at all. */
  assertCanSend(status: SesAccountStatus): void {
    const context = { protocol: 'ses', operation: 'connect', host: this.baseContext.host };
    if (status.enforcementStatus === 'SHUTDOWN') {
      throw new MailError('PROVIDER_ERROR', `Amazon SES (${this.baseContext.region}): the account is shut down for sending.`, {
        retryable: false,
        hint: 'Amazon SES has stopped this account from sending (enforcement status SHUTDOWN). Check the reputation dashboard in the SES console and contact AWS Support.',
        context,
      });
    }
    if (!status.sendingEnabled) {
      throw new MailError('PROVIDER_ERROR', `Amazon SES (${this.baseContext.region}): sending is disabled for this account.`, {
        retryable: false,
        hint: 'Sending is paused for this SES account. Resume sending in the SES console (Account dashboard).',
        context,
      });
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

export function createSesTransport(config: SesAccountConfig, opts: SesTransportOptions = {}): SesTransport {
  return new SesTransport(config, opts);
}
