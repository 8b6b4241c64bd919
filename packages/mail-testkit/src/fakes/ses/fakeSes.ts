import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { headerAddresses, parseRawHeaders, replaceMessageId } from './rawMessage';
import { verifySigV4, type SigV4Credential } from './sigv4';

/**
 * A local Amazon SES (API v2) for tests: the REST-JSON wire format the AWS SDK speaks, SigV4 checked
 * like AWS does, SES's sending rules (verified identities, sandbox, 50 recipients per message), and
 * every accepted raw message kept for assertions.
 */

export const FAKE_SES_CREDENTIALS: SigV4Credential = {
  accessKeyId: 'AKIAMAILBRIDGEFAKE01',
  secretAccessKey: 'mAiLbRiDgE/fake+SES/secret0key0for0tests',
};

export interface FakeSesOptions {
  /** default: a free port */
  port?: number;
  /** the region requests must be signed for; default 'eu-central-1' */
  region?: string;
  /** the access keys the fake knows; default [FAKE_SES_CREDENTIALS] */
  credentials?: SigV4Credential[];
  /** addresses and domains verified as identities; undefined: every sender is verified */
  verifiedIdentities?: string[];
  /** sandbox: recipients must be verified identities too, GetAccount says ProductionAccessEnabled false */
  sandbox?: boolean;
  /** default true; false: SendEmail answers SendingPausedException */
  sendingEnabled?: boolean;
  /** AccountSuspendedException for SendEmail, EnforcementStatus SHUTDOWN */
  suspended?: boolean;
  /** configuration sets that exist; undefined: any name is accepted */
  configurationSets?: string[];
  /** default 50 */
  maxRecipientsPerMessage?: number;
  /** default 40 MB (SES v2's limit for raw messages) */
  maxMessageBytes?: number;
  /** allowed clock difference of x-amz-date; default 5 minutes */
  maxClockSkewMs?: number;
  /** called once per envelope recipient with the copy SES would deliver (its Message-ID), before the 200 answer */
  deliver?: (recipient: string, raw: Buffer, envelopeFrom: string) => Promise<void>;
}

export interface FakeSesMessage {
  /** SES's MessageId, as answered */
  messageId: string;
  /** the Message-ID header recipients see */
  headerMessageId: string;
  /** Content.Raw.Data decoded: exactly what the client sent */
  raw: Buffer;
  /** what recipients get: `raw` with SES's Message-ID */
  delivered: Buffer;
  /** envelope recipients (Destination, or the To/Cc/Bcc headers when there was none) */
  recipients: string[];
  destination: { to: string[]; cc: string[]; bcc: string[] } | null;
  fromEmailAddress?: string;
  headerFrom: string[];
  configurationSetName?: string;
  tags: Record<string, string>;
  accessKeyId: string;
  deliveryErrors: Array<{ recipient: string; error: string }>;
}

export interface FakeSesRequestLog {
  method: string;
  path: string;
  status: number;
  operation?: 'SendEmail' | 'GetAccount';
  accessKeyId?: string;
  /** 'valid', or why SigV4 failed: 'missing' | 'malformed' | 'unknown-key' | 'scope' | 'expired' | 'payload' | 'mismatch' */
  signature: string;
  errorType?: string;
  message?: string;
}

export interface FakeSesFailure {
  status?: number;
  errorType: string;
  message?: string;
  headers?: Record<string, string>;
}

export interface FakeSes {
  host: string;
  port: number;
  /** `http://127.0.0.1:<port>`: the `endpoint` for the SDK */
  endpoint: string;
  region: string;
  credentials: SigV4Credential[];
  /** every accepted message, in order */
  messages: FakeSesMessage[];
  /** every request, in order */
  log: FakeSesRequestLog[];
  /** the next `count` SendEmail calls (after a valid signature) answer 429 TooManyRequestsException */
  throttleNext(count?: number, opts?: { retryAfterSeconds?: number }): void;
  /** the next `count` SendEmail calls answer this error */
  failNext(failure: FakeSesFailure, count?: number): void;
  /** changes the account's rules while running */
  configure(changes: Partial<Pick<FakeSesOptions, 'verifiedIdentities' | 'sandbox' | 'sendingEnabled' | 'suspended' | 'configurationSets'>>): void;
  /** resolves with the first `count` accepted messages once there are that many */
  waitFor(count: number, timeoutMs?: number): Promise<FakeSesMessage[]>;
  close(): Promise<void>;
}

class SesApiError extends Error {
  constructor(readonly status: number, readonly errorType: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

const SIMULATOR_DOMAIN = 'simulator.amazonses.com';
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const TAG = /^[A-Za-z0-9_-]{1,256}$/;
const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SesApiError(413, 'RequestEntityTooLargeException', 'Request is too large.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sesMessageId(region: string): string {
  // the shape SES uses: 16 hex digits (a prefix and the time), a UUID, a sequence number
  const prefix = region === 'us-east-1' ? '0100' : '0107';
  const time = Date.now().toString(16).padStart(12, '0');
  return `${prefix}${time}-${randomUUID()}-000000`;
}

function messageIdDomain(region: string): string {
  return region === 'us-east-1' ? 'email.amazonses.com' : `${region}.amazonses.com`;
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new SesApiError(400, 'BadRequestException', `${field} must be a list of strings.`);
  }
  return value as string[];
}

/** 'Name <a@b.c>' or 'a@b.c' → 'a@b.c' */
function bareAddress(value: string): string {
  const m = /<([^<>]+)>\s*$/.exec(value);
  return (m ? m[1] : value).trim();
}

export async function startFakeSes(opts: FakeSesOptions = {}): Promise<FakeSes> {
  const region = opts.region ?? 'eu-central-1';
  const credentials = opts.credentials ?? [FAKE_SES_CREDENTIALS];
  const rules = {
    verifiedIdentities: opts.verifiedIdentities,
    sandbox: opts.sandbox ?? false,
    sendingEnabled: opts.sendingEnabled ?? true,
    suspended: opts.suspended ?? false,
    configurationSets: opts.configurationSets,
  };
  const maxRecipients = opts.maxRecipientsPerMessage ?? 50;
  const maxMessageBytes = opts.maxMessageBytes ?? 40 * 1024 * 1024;
  const messages: FakeSesMessage[] = [];
  const log: FakeSesRequestLog[] = [];
  const waiters = new Set<() => void>();
  const queuedFailures: FakeSesFailure[] = [];

  const isVerified = (address: string): boolean => {
    const lower = address.toLowerCase();
    const domain = lower.slice(lower.lastIndexOf('@') + 1);
    if (domain === SIMULATOR_DOMAIN) return true;
    if (!rules.verifiedIdentities) return true;
    return rules.verifiedIdentities.some((identity) => {
      const id = identity.toLowerCase();
      if (id.includes('@')) return id === lower;
      // a verified domain covers its subdomains
      return domain === id || domain.endsWith('.' + id);
    });
  };

  const notVerified = (ids: string[]) =>
    new SesApiError(400, 'MessageRejected', `Email address is not verified. The following identities failed the check in region ${region.toUpperCase()}: ${ids.join(', ')}`);

  async function sendEmail(body: Buffer, accessKeyId: string): Promise<Record<string, unknown>> {
    let input: Record<string, any>;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      throw new SesApiError(400, 'SerializationException', 'Request body is not valid JSON.');
    }
    if (!input || typeof input !== 'object') throw new SesApiError(400, 'SerializationException', 'Request body must be a JSON object.');
    const failure = queuedFailures.shift();
    if (failure) throw new SesApiError(failure.status ?? 400, failure.errorType, failure.message ?? failure.errorType, failure.headers);
    if (rules.suspended) throw new SesApiError(400, 'AccountSuspendedException', 'Your account has been suspended from sending email.');
    if (!rules.sendingEnabled) throw new SesApiError(400, 'SendingPausedException', 'Sending is paused for this account. For more information, please check the AWS console.');

    const content = input.Content;
    if (!content || typeof content !== 'object') throw new SesApiError(400, 'BadRequestException', 'Content is required.');
    if (content.Simple || content.Template) throw new SesApiError(400, 'BadRequestException', 'This fake accepts Content.Raw only.');
    const data = content.Raw?.Data;
    if (typeof data !== 'string' || data.length % 4 !== 0 || !BASE64.test(data)) {
      throw new SesApiError(400, 'BadRequestException', 'Content.Raw.Data must be base64.');
    }
    const raw = Buffer.from(data, 'base64');
    if (raw.length === 0) throw new SesApiError(400, 'BadRequestException', 'Content.Raw.Data is empty.');
    if (raw.length > maxMessageBytes) {
      throw new SesApiError(400, 'MessageRejected', `Message length is more than ${Math.round(maxMessageBytes / 1024 / 1024)} MB.`);
    }
    const headers = parseRawHeaders(raw);
    const headerFrom = headerAddresses(headers, 'from');
    const headerSender = headerAddresses(headers, 'sender');
    const fromEmailAddress = typeof input.FromEmailAddress === 'string' ? input.FromEmailAddress : undefined;
    if (!fromEmailAddress && headerFrom.length === 0) throw new SesApiError(400, 'BadRequestException', "Missing required header 'From'.");

    let destination: FakeSesMessage['destination'] = null;
    let recipients: string[];
    if (input.Destination !== undefined && input.Destination !== null) {
      const d = input.Destination;
      destination = {
        to: stringList(d.ToAddresses, 'Destination.ToAddresses'),
        cc: stringList(d.CcAddresses, 'Destination.CcAddresses'),
        bcc: stringList(d.BccAddresses, 'Destination.BccAddresses'),
      };
      recipients = [...destination.to, ...destination.cc, ...destination.bcc];
    } else {
      // raw content without Destination: SES reads the recipients from the headers
      recipients = [...headerAddresses(headers, 'to'), ...headerAddresses(headers, 'cc'), ...headerAddresses(headers, 'bcc')];
    }
    recipients = recipients.map(bareAddress);
    if (recipients.length === 0) throw new SesApiError(400, 'BadRequestException', 'Recipient address list is empty.');
    const malformed = recipients.find((r) => !ADDRESS.test(r));
    if (malformed !== undefined) throw new SesApiError(400, 'BadRequestException', `Missing final '@domain' in ${malformed}`);
    if (recipients.length > maxRecipients) throw new SesApiError(400, 'MessageRejected', `Recipient count exceeds ${maxRecipients}.`);

    const senders = [...new Set([...(fromEmailAddress ? [bareAddress(fromEmailAddress)] : []), ...headerFrom, ...headerSender].map((a) => a.toLowerCase()))];
    const unverifiedSenders = senders.filter((s) => !isVerified(s));
    if (unverifiedSenders.length) throw notVerified(unverifiedSenders);
    if (rules.sandbox) {
      const unverified = [...new Set(recipients.map((r) => r.toLowerCase()))].filter((r) => !isVerified(r));
      if (unverified.length) throw notVerified(unverified);
    }

    const configurationSetName = typeof input.ConfigurationSetName === 'string' ? input.ConfigurationSetName : undefined;
    if (configurationSetName && rules.configurationSets && !rules.configurationSets.includes(configurationSetName)) {
      throw new SesApiError(404, 'NotFoundException', `Configuration set <${configurationSetName}> does not exist.`);
    }
    const tags: Record<string, string> = {};
    for (const tag of Array.isArray(input.EmailTags) ? input.EmailTags : []) {
      if (!tag || typeof tag.Name !== 'string' || typeof tag.Value !== 'string' || !TAG.test(tag.Name) || !TAG.test(tag.Value)) {
        throw new SesApiError(400, 'BadRequestException', 'Tag names and values may only contain ASCII letters, digits, underscores and dashes (1–256 characters).');
      }
      tags[tag.Name] = tag.Value;
    }

    const messageId = sesMessageId(region);
    const headerMessageId = `<${messageId}@${messageIdDomain(region)}>`;
    const delivered = replaceMessageId(raw, headerMessageId);
    const message: FakeSesMessage = {
      messageId,
      headerMessageId,
      raw,
      delivered,
      recipients,
      destination,
      fromEmailAddress,
      headerFrom,
      configurationSetName,
      tags,
      accessKeyId,
      deliveryErrors: [],
    };
    if (opts.deliver) {
      const envelopeFrom = fromEmailAddress ? bareAddress(fromEmailAddress) : headerFrom[0];
      for (const recipient of recipients) {
        try {
          await opts.deliver(recipient, delivered, envelopeFrom);
        } catch (err) {
          // SES has accepted the message by now; a failed delivery is a bounce later, not an API error
          message.deliveryErrors.push({ recipient, error: (err as Error).message });
        }
      }
    }
    messages.push(message);
    for (const wake of [...waiters]) wake();
    return { MessageId: messageId };
  }

  function getAccount(): Record<string, unknown> {
    return {
      DedicatedIpAutoWarmupEnabled: false,
      EnforcementStatus: rules.suspended ? 'SHUTDOWN' : 'HEALTHY',
      ProductionAccessEnabled: !rules.sandbox,
      SendQuota: {
        Max24HourSend: rules.sandbox ? 200 : 50000,
        MaxSendRate: rules.sandbox ? 1 : 14,
        SentLast24Hours: messages.length,
      },
      SendingEnabled: rules.sendingEnabled && !rules.suspended,
      SuppressionAttributes: { SuppressedReasons: [] },
    };
  }

  function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      date: new Date().toUTCString(),
      ...headers,
    });
    res.end(text);
  }

  function answerError(res: ServerResponse, entry: FakeSesRequestLog, err: SesApiError) {
    entry.status = err.status;
    entry.errorType = err.errorType;
    entry.message = err.message;
    // signature errors come from the AWS front end with the coral type URL, modeled errors by name
    const coral = /Signature|Token|Client|Authentication|XAmz/.test(err.errorType);
    const type = coral ? `${err.errorType}:http://internal.amazon.com/coral/com.amazon.coral.service/` : err.errorType;
    answer(res, err.status, { message: err.message }, { 'x-amzn-errortype': type, ...err.headers });
  }

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0];
    const entry: FakeSesRequestLog = { method: req.method ?? '', path, status: 0, signature: 'unchecked' };
    log.push(entry);
    const operation = req.method === 'POST' && path === '/v2/email/outbound-emails' ? 'SendEmail' : req.method === 'GET' && path === '/v2/email/account' ? 'GetAccount' : undefined;
    if (operation) entry.operation = operation;
    readBody(req)
      .then(async (body) => {
        const auth = verifySigV4(
          { method: req.method ?? 'GET', url, headers: req.headers, body },
          { region, service: 'ses', lookup: (id) => credentials.find((c) => c.accessKeyId === id), maxSkewMs: opts.maxClockSkewMs },
        );
        if (auth.accessKeyId) entry.accessKeyId = auth.accessKeyId;
        if (!auth.ok) {
          entry.signature = auth.reason;
          throw new SesApiError(auth.status, auth.errorType, auth.message);
        }
        entry.signature = 'valid';
        if (!operation) throw new SesApiError(404, 'UnknownOperationException', `No operation for ${req.method} ${path}.`);
        if (operation === 'GetAccount') return answer(res, (entry.status = 200), getAccount());
        const result = await sendEmail(body, auth.accessKeyId);
        answer(res, (entry.status = 200), result);
      })
      .catch((err: unknown) => {
        if (err instanceof SesApiError) return answerError(res, entry, err);
        answerError(res, entry, new SesApiError(500, 'InternalFailure', `fake SES: ${(err as Error)?.message ?? String(err)}`));
      });
  });

  const port = opts.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const boundPort = (server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port: boundPort,
    endpoint: `http://127.0.0.1:${boundPort}`,
    region,
    credentials,
    messages,
    log,
    throttleNext(count = 1, throttle = {}) {
      const headers: Record<string, string> = throttle.retryAfterSeconds !== undefined ? { 'retry-after': String(throttle.retryAfterSeconds) } : {};
      for (let i = 0; i < count; i++) queuedFailures.push({ status: 429, errorType: 'TooManyRequestsException', message: 'Too Many Requests', headers });
    },
    failNext(failure, count = 1) {
      for (let i = 0; i < count; i++) queuedFailures.push(failure);
    },
    configure(changes) {
      Object.assign(rules, changes);
    },
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(messages.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake SES: expected ${count} message(s) within ${timeoutMs} ms, got ${messages.length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
