import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage, limitBytes = 200 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  if (tooLarge) throw new BodyTooLarge(`request body larger than ${limitBytes} bytes`);
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'Content-Type': 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8',
    'Content-Length': String(data.length),
    ...headers,
  });
  res.end(data);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Length': '0', ...headers });
  res.end();
}

export function sendBytes(res: ServerResponse, status: number, data: Buffer, contentType: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': String(data.length), ...headers });
  res.end(data);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  sendBytes(res, status, Buffer.from(html), 'text/html; charset=utf-8');
}

/** Graph's error envelope. */
export function graphError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const requestId = randomUUID();
  sendJson(res, status, {
    error: {
      code,
      message,
      innerError: { date: new Date().toISOString().replace(/\.\d+Z$/, ''), 'request-id': requestId, 'client-request-id': requestId },
    },
  }, { 'request-id': requestId, 'client-request-id': requestId, ...headers });
}

export interface AadErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
  suberror?: string;
}

/** Entra ID's OAuth error body: `AADSTS<code>: <text>` plus trace and correlation ids. */
export function aadErrorBody(error: string, aadsts: number, text: string, suberror?: string): AadErrorBody {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    error,
    error_description: `AADSTS${aadsts}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [aadsts],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`,
    ...(suberror ? { suberror } : {}),
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
