import type { GraphRuntime, Ms365AppConfig, Ms365DelegatedConfig } from './graph/graphConfig';
import type { SesAccountConfig } from './ses/sesConfig';
import type { SendGridAccountConfig } from './sendgrid/sendgridConfig';
import { MailError } from '../errors';

export type Security = 'ssl' | 'starttls' | 'none';

export interface Timeouts {
  /** TCP + TLS handshake. */
  connectMs?: number;
  /** From connect to the server's greeting. */
  greetingMs?: number;
  /** Longest silence on an open connection. */
  socketMs?: number;
}

export interface ServerEndpoint {
  host: string;
  port: number;
  security: Security;
  /** Login name when it is not the e-mail address. */
  user?: string;
  /** Accept a self-signed or otherwise untrusted certificate (test servers only). */
  allowInvalidCertificate?: boolean;
  timeouts?: Timeouts;
}

export interface SmtpEndpoint extends ServerEndpoint {
  /** Pooled connections per account (default 3). */
  maxConnections?: number;
}

export type ImapEndpoint = ServerEndpoint;

export type AuthConfig = { method: 'password'; password: string } | { method: 'xoauth2'; accessToken: string };

export interface SmtpImapAccountConfig {
  provider: 'smtp-imap';
  address: string;
  smtp: SmtpEndpoint;
  imap: ImapEndpoint;
  auth: AuthConfig;
}

export interface SmtpOnlyAccountConfig {
  provider: 'smtp';
  address: string;
  smtp: SmtpEndpoint;
  imap?: undefined;
  auth: AuthConfig;
}

/** A mail account as plain JSON: what the settings page stores (secrets encrypted at rest). */
export type AccountConfig =
  | SmtpImapAccountConfig
  | SmtpOnlyAccountConfig
  | Ms365AppConfig
  | Ms365DelegatedConfig
  | SesAccountConfig
  | SendGridAccountConfig;

/** What cannot live in JSON: hooks supplied at runtime. */
export interface RuntimeOptions extends GraphRuntime {
  /**
   * Returns an OAuth access token; used on every (re)connect instead of `auth.accessToken`. `forceRefresh`
   * when the server refused the previous one. A MailError it throws (e.g. needsReconnect) is passed on as is.
   */
  accessTokenProvider?: (opts?: { forceRefresh?: boolean }) => Promise<string>;
  /** Called with every IMAP command line sent (credentials masked): diagnostics, tests, benchmarks. */
  onImapCommand?: (line: string) => void;
}

export const DEFAULT_TIMEOUTS: Required<Timeouts> = { connectMs: 15_000, greetingMs: 15_000, socketMs: 120_000 };

export function loginUser(endpoint: ServerEndpoint, address: string): string {
  return endpoint.user && endpoint.user.trim() ? endpoint.user.trim() : address;
}

export function secretsOf(auth: AuthConfig): string[] {
  return auth.method === 'password' ? [auth.password] : [auth.accessToken];
}

function invalid(what: string): never {
  throw new MailError('PROVIDER_ERROR', `Invalid account configuration: ${what}.`, {
    retryable: false,
    hint: `Complete the account settings: ${what}.`,
  });
}

export function assertEndpoint(name: string, endpoint: ServerEndpoint | undefined): asserts endpoint is ServerEndpoint {
  if (!endpoint || typeof endpoint.host !== 'string' || !endpoint.host.trim()) invalid(`${name} server name is missing`);
  if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) invalid(`${name} port must be 1–65535`);
  if (!['ssl', 'starttls', 'none'].includes(endpoint.security)) invalid(`${name} encryption must be ssl, starttls or none`);
}

export function assertAuth(auth: AuthConfig | undefined): asserts auth is AuthConfig {
  if (!auth) invalid('credentials are missing');
  if (auth.method === 'password' && typeof auth.password !== 'string') invalid('the password is missing');
  if (auth.method === 'xoauth2' && typeof auth.accessToken !== 'string') invalid('the access token is missing');
  if (auth.method !== 'password' && auth.method !== 'xoauth2') invalid('unknown authentication method');
}
