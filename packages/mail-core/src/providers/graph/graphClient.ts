/**
 * Graph requests: bearer token, JSON, at most N in flight per mailbox, retries that honour
 * Retry-After on 429/503 (deterministic backoff otherwise, bounded attempts), a fresh token after
 * a 401, and errors mapped to MailErrors with secrets redacted.
 */
import type { Agent } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { MailError } from '../../errors';
import type { GraphRetryPolicy, GraphRuntime } from './graphConfig';
import type { GraphTokenProvider } from './graphAuth';
import { graphHttpError, graphNetworkError, parseGraphErrorBody, retryAfterMsOf, type GraphCallContext } from './graphErrors';
import { httpStream, readAll, type HttpStreamResponse } from './graphHttp';
import { mailboxLimiter } from './graphLimiter';

export interface GraphCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path under /v1.0 (`/users/x/sendMail`) or an absolute URL (nextLink, deltaLink, upload URL). */
  url: string;
  query?: Record<string, string | undefined>;
  json?: unknown;
  body?: Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
  /** false for upload URLs: they carry their own authorization and refuse a bearer token. */
  auth?: boolean;
  /**
   * May the request be repeated after an answer that does not prove it had no effect (a dropped
   * connection, 500/502/504)? GET and ranged PUT: yes. sendMail: no — 429 and 503 are retried
   * anyway, as Graph did not process the request.
   */
  idempotent?: boolean;
  /** Statuses handed back to the caller instead of thrown (e.g. 410 for an expired deltaLink). */
  accept?: number[];
  /** The mailbox whose concurrency slot the request takes (default: the client's). */
  mailbox?: string;
  ctx: Partial<GraphCallContext> & { operation: string };
  signal?: AbortSignal;
}

export interface GraphResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface GraphClientOptions {
  graphBase: string;
  auth: GraphTokenProvider;
  /** The account's mailbox (limiter key and error label). */
  mailbox: string;
  agent?: Agent;
  runtime?: GraphRuntime;
  secrets?: Array<string | undefined>;
}

const DEFAULT_RETRY: Required<GraphRetryPolicy> = { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 60_000 };
const RETRY_AFTER_STATUSES = new Set([429, 503]);
const TRANSIENT_STATUSES = new Set([500, 502, 504]);
/** Socket errors where the request surely never reached the server. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

/** Waits until Date.now() reaches `deadline` (timers may fire a little early; this never does). */
async function sleepUntil(deadline: number, signal?: AbortSignal): Promise<void> {
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new MailError('ABORTED', 'The request was cancelled.');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
      function done() {
        signal?.removeEventListener('abort', done);
        clearTimeout(timer);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
  if (signal?.aborted) throw new MailError('ABORTED', 'The request was cancelled.');
}

export function jsonOf<T>(res: GraphResponse): T {
  return (res.body.length ? JSON.parse(res.body.toString('utf8')) : {}) as T;
}

export class GraphClient {
  readonly baseUrl: string;
  private readonly retry: Required<GraphRetryPolicy>;
  private readonly maxConcurrent: number;

  constructor(private readonly opts: GraphClientOptions) {
    this.baseUrl = `${opts.graphBase}/v1.0`;
    this.retry = { ...DEFAULT_RETRY, ...(opts.runtime?.retry ?? {}) };
    this.maxConcurrent = opts.runtime?.maxConcurrentPerMailbox ?? 4;
  }

  get delegated(): boolean {
    return this.opts.auth.delegated;
  }

  private urlOf(call: GraphCall): string {
    const url = new URL(/^https?:\/\//i.test(call.url) ? call.url : `${this.baseUrl}${call.url}`);
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    return url.toString();
  }

  private context(call: GraphCall): GraphCallContext {
    return {
      mailbox: call.mailbox ?? this.opts.mailbox,
      delegated: this.opts.auth.delegated,
      host: new URL(this.baseUrl).host,
      secrets: this.opts.secrets,
      ...call.ctx,
    };
  }

  private backoff(attempt: number): number {
    return Math.min(this.retry.baseDelayMs * 2 ** (attempt - 1), this.retry.maxDelayMs);
  }

  /**
   * Sends the call; resolves with the response head and a body stream once the status is a
   * success or accepted. The mailbox slot is held until the body stream ends.
   */
  async stream(call: GraphCall): Promise<HttpStreamResponse> {
    const url = this.urlOf(call);
    const ctx = this.context(call);
    const limiter = mailboxLimiter(this.opts.graphBase, call.mailbox ?? this.opts.mailbox, this.maxConcurrent);
    const useAuth = call.auth !== false;
    const idempotent = call.idempotent ?? (call.method === 'GET' || call.method === 'PUT' || call.method === 'DELETE');
    let body: Buffer | string | undefined = call.body;
    const headers: Record<string, string> = { Accept: 'application/json', ...(call.headers ?? {}) };
    if (call.json !== undefined) {
      body = JSON.stringify(call.json);
      headers['Content-Type'] = 'application/json';
    } else if (call.contentType) headers['Content-Type'] = call.contentType;
    let refreshToken = false;
    let refreshed = false;

    for (let attempt = 1; ; attempt++) {
      if (call.signal?.aborted) throw new MailError('ABORTED', 'The request was cancelled.');
      if (useAuth) headers.Authorization = `Bearer ${await this.opts.auth.getToken({ forceRefresh: refreshToken })}`;
      refreshToken = false;
      let release: () => void;
      try {
        release = await limiter.acquire(call.signal);
      } catch {
        throw new MailError('ABORTED', 'The request was cancelled.');
      }
      let res: HttpStreamResponse;
      try {
        res = await httpStream(url, { method: call.method, headers, body, agent: this.opts.agent, signal: call.signal });
      } catch (err) {
        release();
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if ((err as Error).name === 'AbortError') throw new MailError('ABORTED', 'The request was cancelled.');
        const again = attempt < this.retry.maxAttempts && (NOT_SENT_CODES.has(code) || (idempotent && LOST_CODES.has(code)));
        if (!again) throw graphNetworkError(err, { ...ctx, secrets: [...(ctx.secrets ?? []), headers.Authorization?.slice(7)] });
        await sleepUntil(Date.now() + this.backoff(attempt), call.signal);
        continue;
      }
      const ok = (res.status >= 200 && res.status < 300) || (call.accept ?? []).includes(res.status);
      this.opts.runtime?.onGraphRequest?.({ method: call.method, url: url.split('?')[0], status: res.status, attempt });
      if (ok) {
        let done = false;
        const finish = () => {
          if (!done) {
            done = true;
            release();
          }
        };
        res.stream.on('end', finish);
        res.stream.on('close', finish);
        res.stream.on('error', finish);
        return res;
      }
      let errorBody: Buffer;
      try {
        errorBody = await readAll(res.stream);
      } catch {
        errorBody = Buffer.alloc(0);
      } finally {
        release();
      }
      const { code, message } = parseGraphErrorBody(errorBody);
      const retryAfterMs = retryAfterMsOf(res.headers['retry-after']);
      if (res.status === 401 && useAuth && !refreshed) {
        refreshed = true;
        refreshToken = true;
        continue;
      }
      const retryable = RETRY_AFTER_STATUSES.has(res.status) || (idempotent && TRANSIENT_STATUSES.has(res.status));
      if (retryable && attempt < this.retry.maxAttempts) {
        const wait = retryAfterMs ?? this.backoff(attempt);
        if (wait <= this.retry.maxDelayMs) {
          await sleepUntil(Date.now() + wait, call.signal);
          continue;
        }
      }
      throw graphHttpError({ status: res.status, code, message, retryAfterMs, method: call.method }, ctx);
    }
  }

  async request(call: GraphCall): Promise<GraphResponse> {
    const res = await this.stream(call);
    try {
      return { status: res.status, headers: res.headers, body: await readAll(res.stream) };
    } catch (err) {
      throw graphNetworkError(err, this.context(call));
    }
  }

  async json<T>(call: GraphCall): Promise<T> {
    return jsonOf<T>(await this.request(call));
  }

  /** Every item of a collection, following @odata.nextLink. */
  async all<T>(call: GraphCall): Promise<T[]> {
    const items: T[] = [];
    let next: GraphCall | undefined = call;
    while (next) {
      const page: { value?: T[]; '@odata.nextLink'?: string } = await this.json(next);
      items.push(...(page.value ?? []));
      next = page['@odata.nextLink'] ? { ...call, url: page['@odata.nextLink'], query: undefined } : undefined;
    }
    return items;
  }
}

export type { IncomingMessage };
