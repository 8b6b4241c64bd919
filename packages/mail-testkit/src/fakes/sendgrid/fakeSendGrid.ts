import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_LIMITS, validateMailSend, type SendGridError } from './mailSendSchema';
import { renderPersonalization, type AcceptedMailSend, type RenderedMessage } from './renderMime';

/**
 * A local SendGrid v3 Web API for tests: bearer API keys with scopes, `POST /v3/mail/send` validated
 * like SendGrid validates it (400 with `{ errors: [{ message, field, help }] }`), 202 with
 * X-Message-Id, `GET /v3/scopes`, a throttle knob (429 + X-RateLimit-*), and every accepted request
 * kept, with the MIME SendGrid would deliver per personalization.
 */

export interface FakeSendGridKey {
  key: string;
  scopes: string[];
}

export const FAKE_SENDGRID_KEYS = {
  /** a full-access key */
  full: { key: 'SG.mailbridge-fake-full.0123456789abcdefghijklmnopqrstuvwxyzABCDEFG', scopes: ['mail.send', 'mail.batch.read', 'user.profile.read', 'stats.read', 'suppression.read'] },
  /** a restricted key without Mail Send */
  readOnly: { key: 'SG.mailbridge-fake-readonly.0123456789abcdefghijklmnopqrstuvwxyzABC', scopes: ['stats.read', 'user.profile.read'] },
} satisfies Record<string, FakeSendGridKey>;

export interface FakeSendGridOptions {
  /** default: a free port */
  port?: number;
  /** default: both FAKE_SENDGRID_KEYS */
  keys?: FakeSendGridKey[];
  /** addresses and domains that are verified Sender Identities; undefined: every from is accepted */
  verifiedSenders?: string[];
  /** default 30 MB: larger bodies get 413 */
  maxBodyBytes?: number;
  /** called once per recipient with the rendered MIME, before the 202 answer */
  deliver?: (recipient: string, raw: Buffer, envelopeFrom: string) => Promise<void>;
}

export interface FakeSendGridRequest {
  /** the X-Message-Id answered */
  messageId: string;
  apiKey: string;
  /** the JSON body as received */
  body: any;
  /** every to/cc/bcc address of every personalization */
  recipients: string[];
  /** one MIME message per personalization */
  rendered: RenderedMessage[];
  deliveryErrors: Array<{ recipient: string; error: string }>;
}

export interface FakeSendGridLog {
  method: string;
  path: string;
  status: number;
  apiKey?: string;
  errors?: SendGridError[];
}

export interface FakeSendGridFailure {
  status: number;
  errors: Array<Partial<SendGridError>>;
  headers?: Record<string, string>;
}

export interface FakeSendGrid {
  host: string;
  port: number;
  /** `http://127.0.0.1:<port>`: the transport's baseUrl */
  baseUrl: string;
  keys: FakeSendGridKey[];
  /** every accepted (202) mail/send request, in order */
  requests: FakeSendGridRequest[];
  /** every request, in order */
  log: FakeSendGridLog[];
  /** the next `count` mail/send calls answer 429 with X-RateLimit-Reset = now + resetInSeconds (default 1) */
  throttleNext(count?: number, opts?: { resetInSeconds?: number; retryAfterSeconds?: number }): void;
  /** the next `count` mail/send calls (after `afterPassing` calls that go through normally) answer this */
  failNext(failure: FakeSendGridFailure, count?: number, opts?: { afterPassing?: number }): void;
  addKey(key: FakeSendGridKey): void;
  waitFor(count: number, timeoutMs?: number): Promise<FakeSendGridRequest[]>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly errors: SendGridError[], readonly headers: Record<string, string> = {}) {
    super(errors.map((e) => e.message).join('; '));
  }
}

const plainError = (message: string, field: string | null = null): SendGridError => ({ message, field, help: null });

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    // read to the end even when too large, so the client sees the 413 instead of a reset
    req.on('end', () => (tooLarge ? reject(new HttpError(413, [plainError('Payload Too Large: the request body is larger than SendGrid accepts.')])) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/** 22 characters of URL-safe base64, like SendGrid's X-Message-Id. */
function xMessageId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

export async function startFakeSendGrid(opts: FakeSendGridOptions = {}): Promise<FakeSendGrid> {
  const keys: FakeSendGridKey[] = [...(opts.keys ?? [FAKE_SENDGRID_KEYS.full, FAKE_SENDGRID_KEYS.readOnly])];
  const maxBodyBytes = opts.maxBodyBytes ?? 30 * 1024 * 1024;
  const requests: FakeSendGridRequest[] = [];
  const log: FakeSendGridLog[] = [];
  const waiters = new Set<() => void>();
  // null: let that call through (to fail a later call of a batch)
  const queued: Array<(FakeSendGridFailure & { resetInSeconds?: number }) | null> = [];

  const isVerifiedSender = (email: string) => {
    if (!opts.verifiedSenders) return true;
    const lower = email.toLowerCase();
    const domain = lower.slice(lower.lastIndexOf('@') + 1);
    return opts.verifiedSenders.some((s) => {
      const v = s.toLowerCase();
      return v.includes('@') ? v === lower : domain === v || domain.endsWith('.' + v);
    });
  };

  function authenticate(req: IncomingMessage, entry: FakeSendGridLog): FakeSendGridKey {
    const header = req.headers.authorization;
    if (!header) throw new HttpError(401, [plainError('authorization required')]);
    const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
    const key = m ? keys.find((k) => k.key === m[1]) : undefined;
    if (!key) throw new HttpError(401, [plainError('The provided authorization grant is invalid, expired, or revoked')]);
    entry.apiKey = key.key;
    return key;
  }

  async function mailSend(req: IncomingMessage, key: FakeSendGridKey, body: Buffer): Promise<FakeSendGridRequest> {
    if (!key.scopes.includes('mail.send')) throw new HttpError(403, [plainError('access forbidden')]);
    const contentType = String(req.headers['content-type'] ?? '');
    if (!/^application\/json\b/i.test(contentType)) throw new HttpError(415, [plainError('Content-Type should be application/json.')]);
    const failure = queued.shift();
    if (failure) {
      const reset: Record<string, string> = failure.resetInSeconds === undefined ? {} : { 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + failure.resetInSeconds) };
      throw new HttpError(
        failure.status,
        failure.errors.map((e) => ({ message: e.message ?? 'error', field: e.field ?? null, help: e.help ?? null })),
        { ...failure.headers, ...reset },
      );
    }
    let json: any;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError(400, [plainError('Bad Request')]);
    }
    const errors = validateMailSend(json, DEFAULT_LIMITS);
    if (errors.length) throw new HttpError(400, errors);
    if (!isVerifiedSender(json.from.email)) {
      throw new HttpError(403, [
        plainError(
          'The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved. Visit https://sendgrid.com/docs/for-developers/sending-email/sender-identity/ to see the Sender Identity requirements',
          'from',
        ),
      ]);
    }
    const messageId = xMessageId();
    const accepted = json as AcceptedMailSend;
    const rendered: RenderedMessage[] = [];
    for (let i = 0; i < accepted.personalizations.length; i++) rendered.push(await renderPersonalization(accepted, i, messageId));
    const record: FakeSendGridRequest = {
      messageId,
      apiKey: key.key,
      body: json,
      recipients: rendered.flatMap((r) => r.recipients),
      rendered,
      deliveryErrors: [],
    };
    if (opts.deliver) {
      for (const copy of rendered) {
        for (const recipient of copy.recipients) {
          try {
            await opts.deliver(recipient, copy.raw, accepted.from.email);
          } catch (err) {
            record.deliveryErrors.push({ recipient, error: (err as Error).message });
          }
        }
      }
    }
    return record;
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      ...(text ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } : { 'content-length': '0' }),
      'x-envoy-upstream-service-time': '1',
      ...headers,
    });
    res.end(text);
  }

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const entry: FakeSendGridLog = { method: req.method ?? '', path, status: 0 };
    log.push(entry);
    readBody(req, maxBodyBytes)
      .then(async (body) => {
        const key = authenticate(req, entry);
        if (req.method === 'GET' && path === '/v3/scopes') {
          entry.status = 200;
          return send(res, 200, { scopes: key.scopes });
        }
        if (req.method === 'POST' && path === '/v3/mail/send') {
          const record = await mailSend(req, key, body);
          requests.push(record);
          for (const wake of [...waiters]) wake();
          entry.status = 202;
          return send(res, 202, undefined, { 'x-message-id': record.messageId });
        }
        throw new HttpError(404, [plainError('resource not found')]);
      })
      .catch((err: unknown) => {
        const e = err instanceof HttpError ? err : new HttpError(500, [plainError(`fake SendGrid: ${(err as Error)?.message ?? String(err)}`)]);
        entry.status = e.status;
        entry.errors = e.errors;
        send(res, e.status, { errors: e.errors }, e.headers);
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    keys,
    requests,
    log,
    throttleNext(count = 1, throttle = {}) {
      for (let i = 0; i < count; i++) {
        queued.push({
          status: 429,
          errors: [{ field: null, message: 'too many requests' }],
          headers: {
            'x-ratelimit-limit': '600',
            'x-ratelimit-remaining': '0',
            ...(throttle.retryAfterSeconds !== undefined ? { 'retry-after': String(throttle.retryAfterSeconds) } : {}),
          },
          resetInSeconds: throttle.resetInSeconds ?? 1,
        });
      }
    },
    failNext(failure, count = 1, { afterPassing = 0 } = {}) {
      for (let i = 0; i < afterPassing; i++) queued.push(null);
      for (let i = 0; i < count; i++) queued.push(failure);
    },
    addKey(key) {
      keys.push(key);
    },
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (requests.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(requests.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake SendGrid: expected ${count} request(s) within ${timeoutMs} ms, got ${requests.length}`));
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
