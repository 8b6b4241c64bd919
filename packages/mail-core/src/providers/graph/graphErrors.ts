/**
 * Graph and Entra ID errors as MailErrors that say what to do. A delegated account whose sign-in
 * is gone (revoked, expired, never completed) gets `needsReconnect: true`.
 */
import { MailError, redactSecrets, toMailError, type MailErrorCode, type MailErrorContext } from '../../errors';

export const RECONNECT_HINT = 'Reconnect the account: its sign-in expired or was revoked';

export type GraphMailError = MailError & { needsReconnect?: boolean };

export function withReconnect(err: MailError): GraphMailError {
  Object.defineProperty(err, 'needsReconnect', { value: true, enumerable: true, writable: false });
  return err as GraphMailError;
}

export function needsReconnect(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as GraphMailError).needsReconnect === true;
}

export type NotFoundKind = 'mailbox' | 'folder' | 'message' | 'attachment' | 'sync-state';

export interface GraphCallContext {
  /** 'send', 'sync', 'list', 'download', 'verify', 'connect' */
  operation: string;
  /** The mailbox addressed (UPN/address), or 'me'. */
  mailbox: string;
  folder?: string;
  /** The Graph permission the call needs, named in the consent hint. */
  permission?: string;
  delegated: boolean;
  /** What a 404 means for this call. */
  notFound?: NotFoundKind;
  /** The From address, for send-as refusals. */
  from?: string;
  host?: string;
  secrets?: Array<string | undefined>;
}

export interface GraphHttpFailure {
  status: number;
  code?: string;
  message?: string;
  retryAfterMs?: number;
  method: string;
}

export function parseGraphErrorBody(body: Buffer | string): { code?: string; message?: string } {
  try {
    const json = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : body) as { error?: { code?: unknown; message?: unknown } | string; error_description?: unknown };
    if (json && typeof json.error === 'object' && json.error) {
      return { code: typeof json.error.code === 'string' ? json.error.code : undefined, message: typeof json.error.message === 'string' ? json.error.message : undefined };
    }
    if (typeof json?.error === 'string') return { code: json.error, message: typeof json.error_description === 'string' ? json.error_description : undefined };
  } catch {
    // not JSON: a proxy's or load balancer's page
  }
  const text = (Buffer.isBuffer(body) ? body.toString('utf8') : body).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  return { message: text.slice(0, 200) || undefined };
}

/** Retry-After in seconds or as an HTTP date → milliseconds. */
export function retryAfterMsOf(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function consentHint(permission: string | undefined, delegated: boolean): string {
  const p = permission ?? 'the Microsoft Graph mail permissions (Mail.Send, Mail.ReadWrite)';
  return delegated
    ? `Grant admin consent for ${p} in Entra ID (App registrations → API permissions, delegated), or reconnect the account and accept ${p} when Microsoft asks.`
    : `Grant admin consent for ${p} in Entra ID: App registrations → your app → API permissions → add the Microsoft Graph application permission ${p} → "Grant admin consent", then test the connection again.`;
}

function context(ctx: GraphCallContext): Omit<MailErrorContext, 'secrets'> {
  return { protocol: 'graph', operation: ctx.operation, ...(ctx.host ? { host: ctx.host } : {}), ...(ctx.folder ? { folder: ctx.folder } : {}) };
}

/** Maps a Graph answer that is not a success (after retries) to a MailError. */
export function graphHttpError(f: GraphHttpFailure, ctx: GraphCallContext): GraphMailError {
  const detail = [f.code, f.message].filter(Boolean).join(': ') || `HTTP ${f.status}`;
  const message = redactSecrets(`Microsoft Graph ${ctx.operation} (${ctx.mailbox}${ctx.folder ? `, folder ${ctx.folder}` : ''}): ${f.status} ${detail}`, ctx.secrets);
  const make = (code: MailErrorCode, hint?: string, retryable?: boolean, retryAfterMs?: number) =>
    new MailError(code, message, { hint, retryable, retryAfterMs, responseCode: f.status, context: context(ctx) });
  const code = f.code ?? '';

  if (f.status === 401) {
    const err = make('AUTH_FAILED', ctx.delegated ? RECONNECT_HINT : 'Microsoft Graph refused the access token. Check the tenant id, client id and client secret (or certificate) of the app registration.');
    return ctx.delegated ? withReconnect(err) : err;
  }
  if (code === 'ErrorSendAsDenied') {
    const who = ctx.from ? ` as ${ctx.from}` : '';
    return make('AUTH_FAILED', `The mailbox ${ctx.mailbox} may not send${who}: give it "Send As" permission in the Exchange admin center, or add${who ? ` ${ctx.from}` : ' the address'} as a shared mailbox of this account.`, false);
  }
  if (f.status === 403) {
    if (/quota/i.test(code)) return make('QUOTA_EXCEEDED');
    return make('AUTH_FAILED', consentHint(ctx.permission, ctx.delegated));
  }
  if (code === 'MailboxNotEnabledForRESTAPI' || code === 'MailboxNotSupportedForRESTAPI') {
    return make('MAILBOX_MISSING', `The user ${ctx.mailbox} has no Exchange Online mailbox (no license, inactive, or hosted on-premises). Assign an Exchange Online license or use another mailbox.`);
  }
  if (f.status === 404) {
    const kind = ctx.notFound ?? 'mailbox';
    if (kind === 'mailbox' || code === 'ErrorInvalidUser' || code === 'Request_ResourceNotFound') {
      return make('MAILBOX_MISSING', `The mailbox "${ctx.mailbox}" was not found in the tenant. Check the mailbox (user principal name or address) in the account settings.`);
    }
    if (kind === 'folder') return make('MAILBOX_MISSING');
    return make('PROVIDER_ERROR', 'The message is no longer on the server (it was moved or deleted). Sync the folder again.', false);
  }
  if (f.status === 410) return make('PROVIDER_ERROR', 'The sync state expired; the folder is synced again from the start.', true);
  if (f.status === 429) return make('RATE_LIMITED', undefined, true, f.retryAfterMs ?? 60_000);
  if (f.status === 413 || code === 'ErrorMessageSizeExceeded' || code === 'ErrorRequestEntityTooLarge') {
    return make('PROVIDER_ERROR', 'The message is larger than Microsoft 365 accepts. Send smaller or fewer attachments.', false);
  }
  if (code === 'ErrorInvalidRecipients') return make('RECIPIENT_REJECTED', 'Microsoft 365 refused a recipient address. Check the addresses for typos.', false);
  if (code === 'ErrorQuotaExceeded') return make('QUOTA_EXCEEDED');
  if (f.status >= 500) {
    return make('PROVIDER_ERROR', 'Microsoft 365 is temporarily unavailable. It is retried automatically.', true, f.retryAfterMs);
  }
  return make('PROVIDER_ERROR', `Microsoft Graph refused the request (${detail}). If it persists, contact the Microsoft 365 administrator.`, false);
}

/** A socket-level failure (no HTTP answer). */
export function graphNetworkError(err: unknown, ctx: GraphCallContext): GraphMailError {
  return toMailError(err, { protocol: 'graph', operation: ctx.operation, host: ctx.host, folder: ctx.folder, secrets: ctx.secrets });
}

// ---------------------------------------------------------------------------------------------
// MSAL

interface MsalLikeError {
  name?: string;
  message?: string;
  errorCode?: string;
  errorMessage?: string;
  subError?: string;
  errorNo?: string | number;
  status?: number;
}

const AADSTS_HINTS: Array<[number[], MailErrorCode, string, boolean?]> = [
  [[7000215, 7000222, 7000216], 'AUTH_FAILED', 'The client secret is wrong or expired: create a new client secret in Entra ID (App registrations → Certificates & secrets) and enter its Value, not the Secret ID.'],
  [[700016], 'AUTH_FAILED', 'The application (client) id was not found in this tenant: check the client id and the tenant id of the app registration.'],
  [[90002, 900023, 90013], 'AUTH_FAILED', 'The tenant id is wrong: use the Directory (tenant) ID from the app overview page in Entra ID.'],
  [[700027, 700024, 700021, 700212, 50027, 700023], 'AUTH_FAILED', 'Entra ID refused the certificate: upload its public part to the app registration (Certificates & secrets) and check the SHA-256 thumbprint and the private key.'],
  [[7000218], 'AUTH_FAILED', 'The app registration does not allow public client flows: enable "Allow public client flows" in Entra ID (Authentication), or enter the client secret.'],
  [[50126, 50034], 'AUTH_FAILED', 'Microsoft 365 refused the user name or password.'],
  [[50076, 50079, 50158, 50072], 'AUTH_FAILED', 'The account requires multi-factor authentication: connect it with "Sign in with Microsoft" instead of a password.', true],
  [[65001], 'AUTH_FAILED', 'Grant admin consent for the requested permissions in Entra ID, or sign in again and accept them.', true],
  [[1002012, 70011], 'AUTH_FAILED', 'A requested permission (scope) is not valid: check the scopes in the account settings.'],
  [[50011, 500112], 'AUTH_FAILED', 'The redirect URI does not match the one registered on the app: add the callback URL shown in the account settings to the app registration (Authentication → Redirect URIs).', true],
];

function aadstsOf(e: MsalLikeError): number | undefined {
  if (e.errorNo !== undefined && /^\d+$/.test(String(e.errorNo))) return Number(e.errorNo);
  const m = /AADSTS(\d+)/.exec(`${e.errorMessage ?? ''} ${e.message ?? ''}`);
  return m ? Number(m[1]) : undefined;
}

const NETWORK_CODES = new Set(['network_error', 'endpoints_resolution_error', 'openid_config_error', 'untrusted_authority', 'network_request_failed']);
const NO_ACCOUNT_CODES = new Set(['no_tokens_found', 'no_account_in_silent_request', 'no_account_found', 'refresh_token_expired', 'native_account_unavailable']);

/** Maps an MSAL error (or a socket error or Entra ID answer under it) to a MailError. */
export function msalToMailError(err: unknown, ctx: GraphCallContext, network?: { lastError?: unknown; lastFailure?: { status: number; body: unknown } }): GraphMailError {
  if (err instanceof MailError) return err;
  let e = (err && typeof err === 'object' ? err : { message: String(err) }) as MsalLikeError;
  const networkCause = network?.lastError;
  const failure = network?.lastFailure?.body as { error?: string; error_description?: string; error_codes?: number[] } | undefined;
  if (e.errorCode && NETWORK_CODES.has(e.errorCode) && !networkCause && failure?.error) {
    // discovery failed on an Entra ID error answer (unknown tenant): report that answer
    e = { errorCode: failure.error, errorMessage: failure.error_description, errorNo: failure.error_codes?.[0], status: network?.lastFailure?.status };
  }
  const aadsts = aadstsOf(e);
  const description = (e.errorMessage || e.message || e.errorCode || 'sign-in failed').split(/\s+Trace ID:/)[0];
  const message = redactSecrets(`Microsoft 365 sign-in (${ctx.operation}): ${e.errorCode ? `${e.errorCode}: ` : ''}${description}`, ctx.secrets);
  const make = (code: MailErrorCode, hint?: string, retryable?: boolean) =>
    new MailError(code, message, { hint, retryable, responseCode: e.status, context: { protocol: 'graph', operation: ctx.operation, ...(ctx.host ? { host: ctx.host } : {}) }, cause: err });

  const row = aadsts === undefined ? undefined : AADSTS_HINTS.find(([codes]) => codes.includes(aadsts));
  if (row) {
    const mapped = make(row[1], row[2], false);
    return row[3] && ctx.delegated ? withReconnect(mapped) : mapped;
  }
  if (e.errorCode === 'invalid_grant' || e.name === 'InteractionRequiredAuthError' || e.errorCode === 'interaction_required' || e.errorCode === 'consent_required' || e.errorCode === 'login_required' || e.subError === 'bad_token') {
    const hint = ctx.operation === 'redeem' ? 'Sign in again: the sign-in was already used, expired or did not match this request.' : RECONNECT_HINT;
    return withReconnect(make('AUTH_FAILED', hint, false));
  }
  if (e.errorCode && NO_ACCOUNT_CODES.has(e.errorCode)) {
    return withReconnect(make('AUTH_FAILED', 'Connect the account first: sign in with Microsoft in the account settings.', false));
  }
  if (e.errorCode === 'invalid_client' || e.errorCode === 'unauthorized_client') {
    return make('AUTH_FAILED', 'Entra ID refused the app credentials: check the client id, the tenant id and the client secret or certificate.', false);
  }
  if (e.errorCode === 'state_mismatch' || e.errorCode === 'nonce_mismatch') {
    return withReconnect(make('AUTH_FAILED', 'The sign-in answer does not belong to this request: start the connection again.', false));
  }
  if ((e.errorCode && NETWORK_CODES.has(e.errorCode)) || networkCause) {
    if (networkCause) {
      const mapped = toMailError(networkCause, { protocol: 'graph', operation: ctx.operation, host: ctx.host, secrets: ctx.secrets });
      if (mapped.code !== 'PROVIDER_ERROR') return mapped;
    }
    return make('HOST_UNREACHABLE', `Could not reach the Microsoft sign-in service${ctx.host ? ` at ${ctx.host}` : ''}: check the network and proxy settings of this server.`, true);
  }
  if (e.status === 429) return make('RATE_LIMITED', undefined, true);
  if (e.status !== undefined && e.status >= 500) return make('PROVIDER_ERROR', 'The Microsoft sign-in service is temporarily unavailable. It is retried automatically.', true);
  if (e.errorCode === 'temporarily_unavailable' || e.errorCode === 'server_error') return make('PROVIDER_ERROR', 'The Microsoft sign-in service is temporarily unavailable. It is retried automatically.', true);
  return make('AUTH_FAILED', 'Microsoft 365 sign-in failed. Check the app registration settings (tenant id, client id, credentials).', false);
}
