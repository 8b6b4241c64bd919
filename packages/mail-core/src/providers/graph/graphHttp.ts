/**
 * HTTPS for Graph and Entra ID on Node's own https module, so a proxy CA (or the test fake's CA)
 * can be trusted per account without touching the process. Also MSAL's network module on top.
 */
import https, { Agent } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { rootCertificates } from 'node:tls';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { GraphEndpoints, GraphRuntime } from './graphConfig';

export interface HttpRequestOptions {
  method: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  agent?: Agent;
  signal?: AbortSignal;
  /** Longest silence on the socket (default 120 s). */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface HttpStreamResponse {
  status: number;
  headers: Record<string, string>;
  stream: IncomingMessage;
}

const agents = new Map<string, Agent>();

/** The agent for an account: runtime.httpsAgent, else one trusting the system roots plus `endpoints.ca`. */
export function agentFor(endpoints: GraphEndpoints | undefined, runtime: GraphRuntime): Agent | undefined {
  if (runtime.httpsAgent) return runtime.httpsAgent;
  const ca = endpoints?.ca?.trim();
  if (!ca) return undefined;
  let agent = agents.get(ca);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 16, ca: [...rootCertificates, ca] });
    agents.set(ca, agent);
  }
  return agent;
}

function flatHeaders(raw: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function abortError(): Error {
  const err = new Error('The request was aborted.');
  err.name = 'AbortError';
  return err;
}

/** Sends one request; resolves once the response head is in (the body still streams). */
export function httpStream(url: string, opts: HttpRequestOptions): Promise<HttpStreamResponse> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(abortError());
    const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (body) headers['Content-Length'] = String(body.length);
    else if (opts.method !== 'GET' && opts.method !== 'HEAD' && opts.method !== 'DELETE') headers['Content-Length'] = '0';
    const req = https.request(url, { method: opts.method, headers, agent: opts.agent, timeout: opts.timeoutMs ?? 120_000 });
    const onAbort = () => req.destroy(abortError());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('timeout', () => {
      const err = new Error(`No answer from ${new URL(url).host} within ${Math.round((opts.timeoutMs ?? 120_000) / 1000)} s.`) as NodeJS.ErrnoException;
      err.code = 'ETIMEDOUT';
      req.destroy(err);
    });
    req.on('error', (err) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    req.on('response', (res) => {
      res.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
      resolve({ status: res.statusCode ?? 0, headers: flatHeaders(res.headers), stream: res });
    });
    req.end(body);
  });
}

export async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function httpRequest(url: string, opts: HttpRequestOptions): Promise<HttpResponse> {
  const res = await httpStream(url, opts);
  return { status: res.status, headers: res.headers, body: await readAll(res.stream) };
}

/**
 * MSAL's network client over the same agent. MSAL keeps no socket error of its own when a call
 * fails; `lastError` lets the error mapper name the real cause (certificate, DNS, refused).
 */
export class MsalNetworkModule implements INetworkModule {
  /** The socket error of the last failed call. */
  lastError?: unknown;
  /** The last answer that was not a success (MSAL drops the body of a failed discovery). */
  lastFailure?: { status: number; body: unknown };

  constructor(private readonly agent?: Agent) {}

  private async send<T>(method: string, url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    try {
      const res = await httpRequest(url, { method, headers: options?.headers, body: options?.body, agent: this.agent, timeoutMs: timeout || 30_000 });
      const text = res.body.toString('utf8');
      this.lastError = undefined;
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        body = { error: 'invalid_response', error_description: `HTTP ${res.status} from ${new URL(url).host}: ${text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200)}` };
      }
      this.lastFailure = res.status >= 400 ? { status: res.status, body } : undefined;
      return { headers: res.headers, body: body as T, status: res.status };
    } catch (err) {
      this.lastError = err;
      throw err;
    }
  }

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options);
  }
}
