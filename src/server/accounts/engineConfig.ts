import type { AccountConfig, Ms365DelegatedConfig } from '@mailbridge/mail-core';
import type { AccountSecrets } from './accountSecrets';
import { requestedScopes } from './scopes';

export interface StoredAccount {
  provider: string;
  address: string;
  settings?: Record<string, any>;
}

export const PROVIDERS = ['ms365-app', 'ms365-delegated', 'smtp-imap', 'smtp', 'ses', 'sendgrid'] as const;
const RECEIVING = new Set(['smtp-imap', 'ms365-app', 'ms365-delegated']);

export function canReceive(provider: string): boolean {
  return RECEIVING.has(provider);
}

/** SMTP/IMAP (or SMTP only) signing in with a delegated Microsoft account: XOAUTH2 with tokens from Entra ID. */
export const MICROSOFT_OAUTH = 'microsoft-oauth';

export function usesMicrosoftOAuth(account: Pick<StoredAccount, 'provider' | 'settings'>): boolean {
  return (account.provider === 'smtp-imap' || account.provider === 'smtp') && account.settings?.authMethod === MICROSOFT_OAUTH;
}

/** Whether "Connect with Microsoft" applies: a delegated Microsoft 365 account or SMTP/IMAP with Microsoft OAuth. */
export function connectsWithMicrosoft(account: Pick<StoredAccount, 'provider' | 'settings'>): boolean {
  return account.provider === 'ms365-delegated' || usesMicrosoftOAuth(account);
}

export interface EngineContext {
  /** The OAuth callback URL of this server, for delegated Microsoft accounts. */
  redirectUri?: string;
}

// Maps a stored account (settings JSON + decrypted secrets) to the engine's plain account config.
export function toEngineConfig(
  account: StoredAccount,
  secrets: AccountSecrets,
  context: EngineContext = {},
): AccountConfig {
  const { provider, address } = account;
  const s = account.settings ?? {};
  switch (provider) {
    case 'smtp-imap':
    case 'smtp': {
      // With Microsoft OAuth the token comes from the runtime's accessTokenProvider (see signInConfig).
      const auth =
        s.authMethod === MICROSOFT_OAUTH
          ? { method: 'xoauth2' as const, accessToken: '' }
          : s.authMethod === 'xoauth2'
            ? { method: 'xoauth2' as const, accessToken: secrets.accessToken ?? '' }
            : { method: 'password' as const, password: secrets.password ?? '' };
      return provider === 'smtp-imap'
        ? { provider, address, smtp: s.smtp, imap: s.imap, auth }
        : { provider, address, smtp: s.smtp, auth };
    }
    case 'ms365-app':
      return {
        provider,
        address,
        mailbox: s.mailbox || address,
        tenantId: s.tenantId,
        clientId: s.clientId,
        auth: { method: 'client-secret', clientSecret: secrets.clientSecret ?? '' },
        sharedMailboxes: s.sharedMailboxes,
        endpoints: s.endpoints,
      };
    case 'ms365-delegated':
      return {
        provider,
        address,
        tenantId: s.tenantId,
        clientId: s.clientId,
        clientSecret: secrets.clientSecret || undefined,
        redirectUri: s.redirectUri || context.redirectUri || '',
        scopes: requestedScopes(provider, s).filter((x) => x !== 'offline_access'),
        homeAccountId: s.homeAccountId,
        sharedMailboxes: s.sharedMailboxes,
        endpoints: s.endpoints,
      };
    case 'ses':
      return {
        provider,
        address,
        region: s.region,
        accessKeyId: s.accessKeyId,
        secretAccessKey: secrets.secretAccessKey ?? '',
        configurationSetName: s.configurationSetName || undefined,
        endpoint: s.endpoint || undefined,
      };
    case 'sendgrid':
      return {
        provider,
        address,
        apiKey: secrets.apiKey ?? '',
        baseUrl: s.baseUrl || undefined,
        categories: s.categories,
      };
    default:
      throw new Error(`Unknown provider "${provider}".`);
  }
}

/**
 * The delegated Microsoft sign-in behind an account (MSAL configuration), or null when it has none: the
 * ms365-delegated provider asks for Graph scopes, SMTP/IMAP with Microsoft OAuth for Exchange's IMAP/SMTP scopes.
 */
export function signInConfig(
  account: StoredAccount,
  secrets: AccountSecrets,
  context: EngineContext = {},
): Ms365DelegatedConfig | null {
  if (account.provider === 'ms365-delegated') return toEngineConfig(account, secrets, context) as Ms365DelegatedConfig;
  if (!usesMicrosoftOAuth(account)) return null;
  const s = account.settings ?? {};
  return {
    provider: 'ms365-delegated',
    address: account.address,
    tenantId: s.tenantId,
    clientId: s.clientId,
    clientSecret: secrets.clientSecret || undefined,
    redirectUri: s.redirectUri || context.redirectUri || '',
    scopes: requestedScopes(account.provider, s).filter((x) => x !== 'offline_access'),
    homeAccountId: s.homeAccountId,
    endpoints: s.endpoints,
  };
}
