import type { AccountConfig } from '@mailbridge/mail-core';
import type { AccountSecrets } from './accountSecrets';

export interface StoredAccount {
  provider: string;
  address: string;
  settings?: Record<string, any>;
}

export const PROVIDERS = ['ms365-app', 'ms365-delegated', 'smtp-imap', 'smtp', 'ses', 'sendgrid'] as const;

// Maps a stored account (settings JSON + decrypted secrets) to the engine's plain account config.
export function toEngineConfig(account: StoredAccount, secrets: AccountSecrets): AccountConfig {
  const { provider, address } = account;
  const settings = account.settings ?? {};
  const auth =
    settings.authMethod === 'xoauth2'
      ? { method: 'xoauth2' as const, accessToken: secrets.accessToken ?? '' }
      : { method: 'password' as const, password: secrets.password ?? '' };
  if (provider === 'smtp-imap') return { provider, address, smtp: settings.smtp, imap: settings.imap, auth };
  if (provider === 'smtp') return { provider, address, smtp: settings.smtp, auth };
  throw new Error(`The provider "${provider}" is not available yet.`);
}

export function canReceive(provider: string): boolean {
  return provider === 'smtp-imap';
}

export function plainAccount(model: any): StoredAccount & { id: string; secrets?: string } {
  return {
    id: String(model.get('id')),
    provider: model.get('provider'),
    address: model.get('address'),
    settings: model.get('settings') ?? {},
    secrets: model.get('secrets'),
  };
}
