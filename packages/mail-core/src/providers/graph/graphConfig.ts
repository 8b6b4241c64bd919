/**
 * Microsoft 365 account configuration (plain JSON, what the settings page stores) and the runtime
 * hooks that cannot live in JSON (the encrypted token cache store).
 */
import type { Agent } from 'node:https';
import { MailError } from '../../errors';
import type { GraphTokenProvider } from './graphAuth';

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
export const DEFAULT_GRAPH_BASE_URL = 'https://graph.microsoft.com';

export interface GraphEndpoints {
  /** Entra ID sign-in host; default https://login.microsoftonline.com (sovereign clouds differ). */
  authorityHost?: string;
  /** Graph host without the version; default https://graph.microsoft.com. */
  graphBaseUrl?: string;
  /**
   * An extra CA certificate (PEM) to trust for both hosts, in addition to the system's roots:
   * a TLS-inspecting proxy, or the test fake.
   */
  ca?: string;
}

export type Ms365AppAuth =
  | { method: 'client-secret'; clientSecret: string }
  | {
      method: 'certificate';
      /** Hex SHA-256 thumbprint of the certificate registered on the app. */
      thumbprintSha256: string;
      /** PEM private key (PKCS#8 "BEGIN PRIVATE KEY"). */
      privateKeyPem: string;
      /** The certificate PEM, sent as x5c (needed for subject-name/issuer authentication only). */
      certificatePem?: string;
    };

/** App-only access (client credentials): the app acts on `mailbox` with application permissions. */
export interface Ms365AppConfig {
  provider: 'ms365-app';
  /** The address mail is sent from by default. */
  address: string;
  /** The mailbox to use: user principal name, primary address or object id. */
  mailbox: string;
  tenantId: string;
  clientId: string;
  auth: Ms365AppAuth;
  /**
   * Addresses of shared mailboxes this account sends as: a mail whose `from` is one of them is
   * sent through that mailbox (so its Sent Items keep the copy). Other `from` addresses are sent
   * through `mailbox` with the From header set (an alias, or a mailbox with "Send As" rights).
   */
  sharedMailboxes?: string[];
  /** 'mime' (default) keeps Message-ID, In-Reply-To and References; 'json' sends a Graph message. */
  sendFormat?: 'mime' | 'json';
  /** Only for sovereign clouds: default `${graphBaseUrl}/.default`. */
  scopes?: string[];
  endpoints?: GraphEndpoints;
}

/** Delegated access (authorization code + PKCE, refresh tokens): the app acts as the signed-in user. */
export interface Ms365DelegatedConfig {
  provider: 'ms365-delegated';
  address: string;
  /** Tenant id or domain; 'organizations' lets any work account sign in. */
  tenantId: string;
  clientId: string;
  /** Set for a confidential (web) app registration; absent for a public client. */
  clientSecret?: string;
  /** The OAuth callback route of the NocoBase server, registered on the app. */
  redirectUri: string;
  /** Graph scopes; default DEFAULT_DELEGATED_SCOPES. offline_access, openid and profile are always added. */
  scopes?: string[];
  /** Set after the first sign-in (redeemAuthorizationCode); picks the account in the token cache. */
  homeAccountId?: string;
  /** Shared mailboxes the user may send as (needs Mail.Send.Shared). */
  sharedMailboxes?: string[];
  sendFormat?: 'mime' | 'json';
  endpoints?: GraphEndpoints;
}

export type Ms365Config = Ms365AppConfig | Ms365DelegatedConfig;

export const DEFAULT_DELEGATED_SCOPES = ['User.Read', 'Mail.ReadWrite', 'Mail.Send'];

/**
 * Where the delegated account's MSAL token cache lives. The cache holds the refresh token: the
 * NocoBase half stores it encrypted per account. `save` gets the whole serialized cache after
 * every change (a sign-in, every refresh with a rotated refresh token, a sign-out).
 */
export interface GraphTokenCacheStore {
  load(): Promise<string | null>;
  save(serialized: string): Promise<void>;
}

export interface GraphRetryPolicy {
  /** Attempts per request, the first included (default 4). */
  maxAttempts?: number;
  /** Wait before the 2nd attempt when the server names no Retry-After; doubles each time (default 1000). */
  baseDelayMs?: number;
  /** Longest wait between attempts; a longer Retry-After fails at once with RATE_LIMITED (default 60000). */
  maxDelayMs?: number;
}

/** What cannot live in JSON. */
export interface GraphRuntime {
  /**
   * One token provider shared by the transport and the source of a delegated account (so two
   * refreshes never race over one rotating refresh token): `createGraphAuth(config, runtime)`.
   */
  tokenProvider?: GraphTokenProvider;
  /** Required for ms365-delegated. */
  tokenCache?: GraphTokenCacheStore;
  /** An HTTPS agent for Graph and Entra ID (proxy, custom TLS); overrides `endpoints.ca`. */
  httpsAgent?: Agent;
  retry?: GraphRetryPolicy;
  /** Most concurrent Graph requests per mailbox in this process (Exchange allows 4; default 4). */
  maxConcurrentPerMailbox?: number;
  /** Called after every Graph response (diagnostics, tests): method, URL without query, status. */
  onGraphRequest?: (event: { method: string; url: string; status: number; attempt: number }) => void;
}

/**
 * The sync cursor of a Graph folder, stored by the NocoBase half as opaque JSON.
 * - `deltaLink`: the link that returns what changed since the last completed round (null until
 *   the first round completes).
 * - `nextLink`: set while a round is unfinished — the page to continue with after a restart.
 * - `folderId`: the folder the links belong to (as passed to syncFolder).
 */
export interface GraphFolderCursor {
  v: 1;
  kind: 'graph';
  folderId: string;
  deltaLink: string | null;
  nextLink?: string;
}

export function isGraphCursor(value: unknown): value is GraphFolderCursor {
  const c = value as GraphFolderCursor | null;
  return (
    !!c &&
    typeof c === 'object' &&
    c.v === 1 &&
    c.kind === 'graph' &&
    typeof c.folderId === 'string' &&
    (c.deltaLink === null || typeof c.deltaLink === 'string') &&
    (c.nextLink === undefined || typeof c.nextLink === 'string') &&
    (c.deltaLink !== null || c.nextLink !== undefined)
  );
}

export function authorityHostOf(config: Ms365Config): string {
  return (config.endpoints?.authorityHost || DEFAULT_AUTHORITY_HOST).replace(/\/+$/, '');
}

export function graphBaseOf(config: Ms365Config): string {
  return (config.endpoints?.graphBaseUrl || DEFAULT_GRAPH_BASE_URL).replace(/\/+$/, '').replace(/\/v1\.0$/, '');
}

/** Values that must never appear in a message or log line. */
export function graphSecretsOf(config: Ms365Config): string[] {
  if (config.provider === 'ms365-app') {
    return config.auth.method === 'client-secret' ? [config.auth.clientSecret] : [config.auth.privateKeyPem];
  }
  return config.clientSecret ? [config.clientSecret] : [];
}

function invalid(what: string): never {
  throw new MailError('PROVIDER_ERROR', `Invalid Microsoft 365 account configuration: ${what}.`, {
    retryable: false,
    hint: `Complete the account settings: ${what}.`,
  });
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

function assertHttpsUrl(name: string, value: string | undefined): void {
  if (value === undefined) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    invalid(`${name} must be a URL`);
  }
  if (url.protocol !== 'https:') invalid(`${name} must start with https://`);
}

export function assertGraphConfig(config: Ms365Config): void {
  if (!config || (config.provider !== 'ms365-app' && config.provider !== 'ms365-delegated')) invalid('unknown provider');
  if (!nonEmpty(config.address) || !config.address.includes('@')) invalid('the e-mail address is missing');
  if (!nonEmpty(config.tenantId)) invalid('the tenant (directory) id is missing');
  if (!nonEmpty(config.clientId)) invalid('the application (client) id is missing');
  assertHttpsUrl('the sign-in host', config.endpoints?.authorityHost);
  assertHttpsUrl('the Graph URL', config.endpoints?.graphBaseUrl);
  if (config.provider === 'ms365-app') {
    if (!nonEmpty(config.mailbox)) invalid('the mailbox (user principal name or id) is missing');
    const auth = config.auth;
    if (!auth) invalid('the client credentials are missing');
    if (auth.method === 'client-secret') {
      if (!nonEmpty(auth.clientSecret)) invalid('the client secret is missing');
    } else if (auth.method === 'certificate') {
      if (!/^[0-9a-fA-F]{64}$/.test(auth.thumbprintSha256 ?? '')) invalid('the certificate thumbprint must be the 64-digit SHA-256 thumbprint');
      if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(auth.privateKeyPem ?? '')) invalid('the certificate private key (PEM) is missing');
    } else invalid('unknown authentication method');
  } else {
    if (!nonEmpty(config.redirectUri)) invalid('the redirect URI is missing');
  }
}
