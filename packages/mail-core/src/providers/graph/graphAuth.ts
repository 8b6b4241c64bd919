/**
 * Tokens for Graph through MSAL: client credentials (secret or certificate) for app-only accounts;
 * authorization code + PKCE, silent refresh and (opt-in) ROPC for delegated ones. The delegated
 * token cache lives only in the GraphTokenCacheStore the caller gives (the NocoBase half keeps
 * it encrypted per account); nothing here writes it anywhere else.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  ConfidentialClientApplication,
  CryptoProvider,
  LogLevel,
  PublicClientApplication,
  type AccountInfo,
  type AuthenticationResult,
  type Configuration,
  type ICachePlugin,
  type TokenCacheContext,
} from '@azure/msal-node';
import { MailError } from '../../errors';
import {
  assertGraphConfig,
  authorityHostOf,
  DEFAULT_AUTHORITY_HOST,
  DEFAULT_DELEGATED_SCOPES,
  graphBaseOf,
  graphSecretsOf,
  type GraphRuntime,
  type GraphTokenCacheStore,
  type Ms365AppConfig,
  type Ms365Config,
  type Ms365DelegatedConfig,
} from './graphConfig';
import { msalToMailError, withReconnect, type GraphCallContext } from './graphErrors';
import { agentFor, MsalNetworkModule } from './graphHttp';

export interface GraphTokenProvider {
  readonly delegated: boolean;
  /** A bearer token for Graph; `forceRefresh` after Graph refused the previous one. */
  getToken(opts?: { forceRefresh?: boolean }): Promise<string>;
  /** Graph permissions in the last token (`roles` app-only, `scp` delegated), when readable. */
  grantedPermissions(): string[] | undefined;
}

/** Hosts MSAL knows itself (no instance discovery needed for them). */
const MICROSOFT_AUTHORITY_HOSTS = new Set([
  'login.microsoftonline.com', 'login.microsoft.com', 'login.windows.net', 'sts.windows.net',
  'login.microsoftonline.us', 'login.usgovcloudapi.net', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn', 'login.microsoftonline.de',
]);

/** The MSAL cache plugin over the caller's store: load before every cache read, save after every change. */
export function tokenCachePlugin(store: GraphTokenCacheStore): ICachePlugin {
  return {
    async beforeCacheAccess(ctx: TokenCacheContext): Promise<void> {
      const serialized = await store.load();
      if (serialized) ctx.tokenCache.deserialize(serialized);
    },
    async afterCacheAccess(ctx: TokenCacheContext): Promise<void> {
      if (ctx.cacheHasChanged) await store.save(ctx.tokenCache.serialize());
    },
  };
}

/** Permissions of a Graph access token: `roles` (app-only) or `scp` (delegated); undefined if not a readable JWT. */
export function permissionsOfToken(accessToken: string): string[] | undefined {
  const parts = accessToken.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { roles?: unknown; scp?: unknown };
    if (Array.isArray(claims.roles)) return claims.roles.map(String);
    if (typeof claims.scp === 'string') return claims.scp.split(/\s+/).filter(Boolean);
    return [];
  } catch {
    return undefined;
  }
}

interface MsalSetup {
  configuration: Configuration;
  network: MsalNetworkModule;
  host: string;
}

function msalSetup(config: Ms365Config, runtime: GraphRuntime, auth: Configuration['auth'], cachePlugin?: ICachePlugin): MsalSetup {
  const hostUrl = authorityHostOf(config);
  const host = new URL(hostUrl).host;
  // MSAL's own client (fetch) cannot take a CA per account and keeps no error detail
  const network = new MsalNetworkModule(agentFor(config.endpoints, runtime));
  return {
    host,
    network,
    configuration: {
      auth: {
        ...auth,
        authority: `${hostUrl}/${encodeURIComponent(config.tenantId.trim())}`,
        ...(MICROSOFT_AUTHORITY_HOSTS.has(host.toLowerCase()) ? {} : { knownAuthorities: [host] }),
      },
      cache: cachePlugin ? { cachePlugin } : undefined,
      system: {
        networkClient: network,
        loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => undefined },
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// App-only

export class AppAuth implements GraphTokenProvider {
  readonly delegated = false;
  private readonly app: ConfidentialClientApplication;
  private readonly setup: MsalSetup;
  private readonly scopes: string[];
  private lastPermissions?: string[];

  constructor(private readonly config: Ms365AppConfig, runtime: GraphRuntime = {}) {
    assertGraphConfig(config);
    const auth: Configuration['auth'] = { clientId: config.clientId.trim() };
    if (config.auth.method === 'client-secret') auth.clientSecret = config.auth.clientSecret;
    else {
      auth.clientCertificate = {
        thumbprintSha256: config.auth.thumbprintSha256.toUpperCase(),
        privateKey: config.auth.privateKeyPem,
      };
      if (config.auth.certificatePem) auth.clientCertificate.x5c = config.auth.certificatePem;
    }
    this.setup = msalSetup(config, runtime, auth);
    this.app = new ConfidentialClientApplication(this.setup.configuration);
    this.scopes = config.scopes?.length ? config.scopes : [`${graphBaseOf(config)}/.default`];
  }

  private context(operation: string): GraphCallContext {
    return { operation, mailbox: this.config.mailbox, delegated: false, host: this.setup.host, secrets: graphSecretsOf(this.config) };
  }

  async getToken(opts: { forceRefresh?: boolean } = {}): Promise<string> {
    let result: AuthenticationResult | null;
    try {
      result = await this.app.acquireTokenByClientCredential({ scopes: this.scopes, skipCache: !!opts.forceRefresh });
    } catch (err) {
      throw msalToMailError(err, this.context('token'), this.setup.network);
    }
    if (!result?.accessToken) throw new MailError('AUTH_FAILED', 'Entra ID returned no access token.', { retryable: true });
    this.lastPermissions = permissionsOfToken(result.accessToken);
    return result.accessToken;
  }

  grantedPermissions(): string[] | undefined {
    return this.lastPermissions;
  }
}

// ---------------------------------------------------------------------------------------------
// Delegated

export interface AuthorizeUrlRequest {
  /** Opaque value the callback route checks (CSRF); comes back unchanged. */
  state: string;
  /** Default: the account's scopes. */
  scopes?: string[];
  /** Pre-fills the sign-in name (the account's address). */
  loginHint?: string;
  prompt?: 'select_account' | 'login' | 'consent' | 'none';
  /** Own PKCE pair; generated when absent. */
  codeVerifier?: string;
  codeChallenge?: string;
  /** Own nonce; generated when absent. */
  nonce?: string;
}

export interface AuthorizeUrl {
  url: string;
  /** Keep server-side with `state` until the callback; pass to redeemAuthorizationCode. */
  verifier?: string;
  challenge: string;
  nonce: string;
}

export interface DelegatedAccount {
  homeAccountId: string;
  username: string;
  tenantId: string;
  /** Graph scopes the sign-in granted (what the user or admin consented to). */
  grantedScopes: string[];
}

export interface DelegatedToken {
  accessToken: string;
  expiresOn: Date | null;
  scopes: string[];
  account: DelegatedAccount;
}

const OIDC = new Set(['openid', 'profile', 'offline_access', 'email']);

function accountOf(result: AuthenticationResult): DelegatedAccount {
  const account = result.account as AccountInfo;
  return {
    homeAccountId: account.homeAccountId,
    username: account.username,
    tenantId: account.tenantId,
    grantedScopes: result.scopes.filter((s) => !OIDC.has(s)),
  };
}

export class DelegatedAuth implements GraphTokenProvider {
  readonly delegated = true;
  private readonly app: PublicClientApplication | ConfidentialClientApplication;
  private readonly setup: MsalSetup;
  private readonly crypto = new CryptoProvider();
  private homeAccountId?: string;
  private lastPermissions?: string[];
  readonly scopes: string[];

  constructor(private readonly config: Ms365DelegatedConfig, runtime: GraphRuntime = {}) {
    assertGraphConfig(config);
    if (!runtime.tokenCache) {
      throw new MailError('PROVIDER_ERROR', 'A delegated Microsoft 365 account needs a token cache store.', {
        retryable: false,
        hint: 'This is a configuration error of the server: pass runtime.tokenCache.',
      });
    }
    const auth: Configuration['auth'] = { clientId: config.clientId.trim() };
    if (config.clientSecret) auth.clientSecret = config.clientSecret;
    this.setup = msalSetup(config, runtime, auth, tokenCachePlugin(runtime.tokenCache));
    this.app = config.clientSecret ? new ConfidentialClientApplication(this.setup.configuration) : new PublicClientApplication(this.setup.configuration);
    this.scopes = config.scopes?.length ? config.scopes : DEFAULT_DELEGATED_SCOPES;
    this.homeAccountId = config.homeAccountId;
  }

  private context(operation: string): GraphCallContext {
    return { operation, mailbox: this.config.address, delegated: true, host: this.setup.host, secrets: graphSecretsOf(this.config) };
  }

  private fail(err: unknown, operation: string): MailError {
    return msalToMailError(err, this.context(operation), this.setup.network);
  }

  /** The Entra ID sign-in URL for the browser (authorization code flow with PKCE S256). */
  async buildAuthorizeUrl(req: AuthorizeUrlRequest): Promise<AuthorizeUrl> {
    let verifier = req.codeVerifier;
    let challenge = req.codeChallenge;
    if (!challenge) {
      if (verifier) challenge = createHash('sha256').update(verifier).digest('base64url');
      else {
        const pkce = await this.crypto.generatePkceCodes();
        verifier = pkce.verifier;
        challenge = pkce.challenge;
      }
    }
    const nonce = req.nonce ?? randomUUID();
    try {
      const url = await this.app.getAuthCodeUrl({
        scopes: req.scopes ?? this.scopes,
        redirectUri: this.config.redirectUri,
        state: req.state,
        nonce,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        responseMode: 'query',
        ...(req.loginHint ? { loginHint: req.loginHint } : {}),
        ...(req.prompt ? { prompt: req.prompt } : {}),
      });
      return { url, verifier, challenge, nonce };
    } catch (err) {
      throw this.fail(err, 'authorize');
    }
  }

  /** Exchanges the code from the callback for tokens; the cache (with the refresh token) goes to the store. */
  async redeemAuthorizationCode(req: { code: string; verifier: string; nonce?: string; scopes?: string[] }): Promise<DelegatedAccount> {
    let result: AuthenticationResult;
    try {
      result = await this.app.acquireTokenByCode({
        code: req.code,
        codeVerifier: req.verifier,
        redirectUri: this.config.redirectUri,
        scopes: req.scopes ?? this.scopes,
        nonce: req.nonce,
      });
    } catch (err) {
      throw this.fail(err, 'redeem');
    }
    if (!result.account) throw withReconnect(new MailError('AUTH_FAILED', 'The sign-in returned no account.', { retryable: false, hint: 'Sign in again.' }));
    this.homeAccountId = result.account.homeAccountId;
    this.lastPermissions = permissionsOfToken(result.accessToken);
    return accountOf(result);
  }

  private async account(): Promise<AccountInfo> {
    let account: AccountInfo | null | undefined;
    try {
      const cache = this.app.getTokenCache();
      account = this.homeAccountId ? await cache.getAccountByHomeId(this.homeAccountId) : (await cache.getAllAccounts())[0];
    } catch (err) {
      throw this.fail(err, 'token');
    }
    if (!account) {
      throw withReconnect(new MailError('AUTH_FAILED', `Microsoft 365 account ${this.config.address} is not connected.`, {
        retryable: false,
        hint: this.homeAccountId ? 'Reconnect the account: its sign-in expired or was revoked' : 'Connect the account first: sign in with Microsoft in the account settings.',
        context: { protocol: 'graph', operation: 'token' },
      }));
    }
    return account;
  }

  /** An access token from the cache, refreshed with the refresh token when due (the rotated cache is saved). */
  async acquireDelegatedToken(opts: { forceRefresh?: boolean; scopes?: string[] } = {}): Promise<DelegatedToken> {
    const account = await this.account();
    let result: AuthenticationResult;
    try {
      result = await this.app.acquireTokenSilent({ account, scopes: opts.scopes ?? this.scopes, forceRefresh: !!opts.forceRefresh });
    } catch (err) {
      throw this.fail(err, 'token');
    }
    this.lastPermissions = permissionsOfToken(result.accessToken);
    return { accessToken: result.accessToken, expiresOn: result.expiresOn, scopes: result.scopes, account: accountOf(result) };
  }

  async getToken(opts: { forceRefresh?: boolean } = {}): Promise<string> {
    return (await this.acquireDelegatedToken(opts)).accessToken;
  }

  /** Resource owner password credentials: only when called, only if the tenant allows it (no MFA). */
  async acquireByPassword(username: string, password: string): Promise<DelegatedAccount> {
    let result: AuthenticationResult | null;
    try {
      result = await this.app.acquireTokenByUsernamePassword({ username, password, scopes: this.scopes });
    } catch (err) {
      throw msalToMailError(err, { ...this.context('password'), secrets: [...graphSecretsOf(this.config), password] }, this.setup.network);
    }
    if (!result?.account) throw new MailError('AUTH_FAILED', 'The password sign-in returned no account.', { retryable: false });
    this.homeAccountId = result.account.homeAccountId;
    this.lastPermissions = permissionsOfToken(result.accessToken);
    return accountOf(result);
  }

  /** Removes the account (and its refresh token) from the cache; the store gets the emptied cache. */
  async signOut(): Promise<void> {
    const cache = this.app.getTokenCache();
    for (const account of await cache.getAllAccounts()) {
      if (!this.homeAccountId || account.homeAccountId === this.homeAccountId) await cache.removeAccount(account);
    }
  }

  grantedPermissions(): string[] | undefined {
    return this.lastPermissions;
  }
}

export function createGraphAuth(config: Ms365AppConfig, runtime?: GraphRuntime): AppAuth;
export function createGraphAuth(config: Ms365DelegatedConfig, runtime?: GraphRuntime): DelegatedAuth;
export function createGraphAuth(config: Ms365Config, runtime?: GraphRuntime): AppAuth | DelegatedAuth;
export function createGraphAuth(config: Ms365Config, runtime: GraphRuntime = {}): AppAuth | DelegatedAuth {
  return config.provider === 'ms365-app' ? new AppAuth(config, runtime) : new DelegatedAuth(config, runtime);
}

/**
 * The URL an Entra ID admin opens to grant the app's configured permissions for the whole tenant.
 * Entra ID redirects to `redirectUri` with `admin_consent=True&tenant=…` (or `error=…`).
 */
export function adminConsentUrl(
  tenantId: string,
  clientId: string,
  redirectUri: string,
  opts: { authorityHost?: string; graphBaseUrl?: string; state?: string } = {},
): string {
  const host = (opts.authorityHost || DEFAULT_AUTHORITY_HOST).replace(/\/+$/, '');
  const url = new URL(`${host}/${encodeURIComponent(tenantId)}/v2.0/adminconsent`);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('scope', `${(opts.graphBaseUrl || 'https://graph.microsoft.com').replace(/\/+$/, '')}/.default`);
  url.searchParams.set('redirect_uri', redirectUri);
  if (opts.state) url.searchParams.set('state', opts.state);
  return url.toString();
}
