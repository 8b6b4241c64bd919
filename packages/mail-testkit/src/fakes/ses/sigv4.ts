import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * AWS Signature Version 4, checked the way AWS checks it: the canonical request is rebuilt from what
 * arrived on the wire, the string to sign and the derived signing key from the secret we know for the
 * access key id, and the signatures compared. Only the Authorization-header form (no presigned URLs).
 */

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

export interface SigV4Credential {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SigV4Request {
  method: string;
  /** Path and query exactly as received (`req.url`). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SigV4Expectation {
  region: string;
  service: string;
  lookup: (accessKeyId: string) => SigV4Credential | undefined;
  /** Allowed difference between x-amz-date and now; AWS allows 5 minutes. */
  maxSkewMs?: number;
  now?: () => number;
}

/** What went wrong, as AWS names it: error type, HTTP status and message. */
export interface SigV4Failure {
  ok: false;
  status: number;
  errorType: string;
  message: string;
  /** For the fake's log: 'missing' | 'malformed' | 'unknown-key' | 'scope' | 'expired' | 'payload' | 'mismatch'. */
  reason: string;
  accessKeyId?: string;
  canonicalRequest?: string;
  stringToSign?: string;
}

export interface SigV4Success {
  ok: true;
  accessKeyId: string;
  signedHeaders: string[];
  canonicalRequest: string;
  stringToSign: string;
}

export type SigV4Result = SigV4Success | SigV4Failure;

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding as SigV4 wants it: everything but A–Z a–z 0–9 - _ . ~ is %XX (upper case). */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, '%20'));
  } catch {
    return value;
  }
}

/**
 * The canonical URI for every service but S3: the path normalised (`.`/`..`/empty segments removed)
 * and each segment URI-encoded once more on top of the encoding it arrived in.
 */
export function canonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = rawPath.length > 1 && rawPath.endsWith('/') && segments.length > 0 ? '/' : '';
  return '/' + segments.map(uriEncode).join('/') + trailing;
}

export function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  const pairs = rawQuery
    .split('&')
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      const key = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? '' : part.slice(eq + 1);
      return [uriEncode(safeDecode(key)), uriEncode(safeDecode(value))] as const;
    });
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** `name:value` with the value trimmed and inner runs of spaces collapsed, one per signed header. */
export function canonicalHeaders(headers: IncomingHttpHeaders, signedHeaders: string[]): string {
  return signedHeaders.map((name) => `${name}:${(headerValue(headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
}

export function buildCanonicalRequest(req: SigV4Request, signedHeaders: string[], payloadHash: string): string {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  return [req.method.toUpperCase(), canonicalUri(path), canonicalQuery(query), canonicalHeaders(req.headers, signedHeaders), signedHeaders.join(';'), payloadHash].join('\n');
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac('AWS4' + secretAccessKey, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

export function buildStringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return [SIGV4_ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
}

export function signString(signingKey: Buffer, stringToSign: string): string {
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const trimmed = value.trim();
  if (!trimmed.startsWith(SIGV4_ALGORITHM + ' ')) return undefined;
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(SIGV4_ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) return undefined;
  const scope = credential.split('/');
  if (scope.length !== 5) return undefined;
  const [accessKeyId, date, region, service, terminator] = scope;
  return { accessKeyId, date, region, service, terminator, signedHeaders: signedHeaders.split(';'), signature };
}

/** 20240102T030405Z → ms since the epoch. */
export function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

const fail = (status: number, errorType: string, message: string, reason: string, extra: Partial<SigV4Failure> = {}): SigV4Failure => ({
  ok: false,
  status,
  errorType,
  message,
  reason,
  ...extra,
});

export function verifySigV4(req: SigV4Request, expect: SigV4Expectation): SigV4Result {
  const authorization = headerValue(req.headers, 'authorization');
  if (!authorization) return fail(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token', 'missing');
  const auth = parseAuthorization(authorization);
  if (!auth) {
    return fail(
      403,
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters and the algorithm ${SIGV4_ALGORITHM}. Authorization=${authorization.split(' ')[0]}`,
      'malformed',
    );
  }
  const { accessKeyId } = auth;
  const credential = expect.lookup(accessKeyId);
  if (!credential) {
    return fail(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.', 'unknown-key', { accessKeyId });
  }
  const amzDate = headerValue(req.headers, 'x-amz-date');
  if (!amzDate || !auth.signedHeaders.includes('x-amz-date')) {
    return fail(400, 'IncompleteSignatureException', 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.', 'malformed', { accessKeyId });
  }
  if (!auth.signedHeaders.includes('host')) {
    return fail(403, 'SignatureDoesNotMatch', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", 'malformed', { accessKeyId });
  }
  const sortedLower = [...auth.signedHeaders].map((h) => h.toLowerCase()).sort();
  if (auth.signedHeaders.join(';') !== sortedLower.join(';')) {
    return fail(403, 'SignatureDoesNotMatch', 'SignedHeaders must be lower case and sorted.', 'malformed', { accessKeyId });
  }
  for (const name of auth.signedHeaders) {
    if (headerValue(req.headers, name) === undefined) {
      return fail(403, 'SignatureDoesNotMatch', `The signed header ${name} is missing from the request.`, 'malformed', { accessKeyId });
    }
  }
  const contentSha = headerValue(req.headers, 'x-amz-content-sha256');
  if (contentSha !== undefined && !auth.signedHeaders.includes('x-amz-content-sha256')) {
    return fail(403, 'SignatureDoesNotMatch', 'The header x-amz-content-sha256 was sent but not signed.', 'malformed', { accessKeyId });
  }
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) {
    return fail(400, 'IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`, 'malformed', { accessKeyId });
  }
  if (auth.date !== amzDate.slice(0, 8)) {
    return fail(403, 'SignatureDoesNotMatch', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}'`, 'scope', { accessKeyId });
  }
  if (auth.region !== expect.region) {
    return fail(403, 'SignatureDoesNotMatch', `Credential should be scoped to a valid region, not '${auth.region}'.`, 'scope', { accessKeyId });
  }
  if (auth.service !== expect.service) {
    return fail(403, 'SignatureDoesNotMatch', `Credential should be scoped to correct service: '${expect.service}'.`, 'scope', { accessKeyId });
  }
  if (auth.terminator !== 'aws4_request') {
    return fail(403, 'SignatureDoesNotMatch', `Credential should be scoped with a valid terminator: 'aws4_request', not '${auth.terminator}'.`, 'scope', { accessKeyId });
  }
  const now = (expect.now ?? Date.now)();
  const skew = expect.maxSkewMs ?? 5 * 60_000;
  const minutes = `${Math.round(skew / 60_000)} min.`;
  if (signedAt < now - skew) {
    return fail(403, 'InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - skew)} (${formatAmzDate(now)} - ${minutes})`, 'expired', { accessKeyId });
  }
  if (signedAt > now + skew) {
    return fail(403, 'InvalidSignatureException', `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + skew)} (${formatAmzDate(now)} + ${minutes})`, 'expired', { accessKeyId });
  }
  const payloadHash = sha256Hex(req.body);
  if (contentSha !== undefined && contentSha !== payloadHash) {
    return fail(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", 'payload', { accessKeyId });
  }
  const canonicalRequest = buildCanonicalRequest(req, auth.signedHeaders, payloadHash);
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = buildStringToSign(amzDate, scope, canonicalRequest);
  const expected = signString(deriveSigningKey(credential.secretAccessKey, auth.date, auth.region, auth.service), stringToSign);
  const given = Buffer.from(auth.signature, 'utf8');
  const wanted = Buffer.from(expected, 'utf8');
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return fail(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      'mismatch',
      { accessKeyId, canonicalRequest, stringToSign },
    );
  }
  return { ok: true, accessKeyId, signedHeaders: auth.signedHeaders, canonicalRequest, stringToSign };
}
