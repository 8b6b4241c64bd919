import type { Application } from '@nocobase/server';
import {
  createGraphAuth,
  createSource,
  createTransport,
  testConnection,
  AccountConfig,
  MailError,
  Ms365DelegatedConfig,
  MailSource,
  MailTransport,
  RuntimeOptions,
} from '@mailbridge/mail-core';
import { AccountSecrets, decryptSecrets } from './accountSecrets';
import { EngineContext, signInConfig, StoredAccount, toEngineConfig } from './engineConfig';
import { accountTokenCache } from '../oauth/tokenCacheStore';

interface CachedEngine {
  version: string;
  runtime: RuntimeOptions;
  transport?: MailTransport;
}

// The engine objects of an account. Per account and configuration version it keeps one runtime (for a delegated
// Microsoft account: one token provider over the encrypted token cache, shared by transport and sources so two
// refreshes never race over one rotating refresh token) and one pooled transport. Sources are opened per sync.
export class AccountEngine {
  private cache = new Map<string, CachedEngine>();

  constructor(private app: Application) {}

  async config(model: any, context: EngineContext = {}): Promise<AccountConfig> {
    return toEngineConfig(
      model.toJSON() as StoredAccount,
      await decryptSecrets(this.app, model.get('secrets')),
      context,
    );
  }

  /** The account's delegated Microsoft sign-in (MSAL configuration), or null when it signs in otherwise. */
  async signInConfig(model: any, context: EngineContext = {}): Promise<Ms365DelegatedConfig | null> {
    return signInConfig(
      model.toJSON() as StoredAccount,
      await decryptSecrets(this.app, model.get('secrets')),
      context,
    );
  }

  private async entry(model: any): Promise<{ config: AccountConfig; cached: CachedEngine }> {
    const id = String(model.get('id'));
    const version = String(new Date(model.get('updatedAt')).getTime());
    const config = await this.config(model);
    let cached = this.cache.get(id);
    if (!cached || cached.version !== version) {
      await this.forget(id);
      cached = { version, runtime: this.runtimeFor(id, config, await this.signInConfig(model)) };
      this.cache.set(id, cached);
    }
    return { config, cached };
  }

  runtimeFor(accountId: string, config: AccountConfig, signIn?: Ms365DelegatedConfig | null): RuntimeOptions {
    if (config.provider === 'ms365-delegated') {
      const tokenCache = accountTokenCache(this.app, accountId);
      return { tokenCache, tokenProvider: createGraphAuth(config, { tokenCache }) };
    }
    if (!signIn) return {};
    // SMTP/IMAP with Microsoft OAuth: XOAUTH2 with tokens for Exchange's IMAP/SMTP scopes, same token cache
    const tokenCache = accountTokenCache(this.app, accountId);
    const auth = createGraphAuth(signIn, { tokenCache });
    return { tokenCache, accessTokenProvider: (opts) => auth.getToken(opts) };
  }

  async transport(model: any): Promise<MailTransport> {
    const { config, cached } = await this.entry(model);
    cached.transport ??= createTransport(config, cached.runtime);
    return cached.transport;
  }

  async source(model: any): Promise<MailSource> {
    const { config, cached } = await this.entry(model);
    return createSource(config, cached.runtime);
  }

  /** Tests a stored account, or unsaved form values with the stored secrets filled in. */
  testConfig(accountId: string | undefined, account: StoredAccount, secrets: AccountSecrets) {
    const config = toEngineConfig(account, secrets);
    const signIn = signInConfig(account, secrets);
    if (signIn && config.provider !== 'ms365-delegated' && !accountId) {
      throw new MailError('AUTH_FAILED', 'This account signs in with Microsoft and is not connected yet.', {
        retryable: false,
        hint: 'Save the account, then use "Connect with Microsoft".',
      });
    }
    return testConnection(config, accountId ? this.runtimeFor(accountId, config, signIn) : {});
  }

  async forget(accountId: string) {
    const cached = this.cache.get(accountId);
    this.cache.delete(accountId);
    await cached?.transport?.close().catch(() => undefined);
  }

  async closeAll() {
    await Promise.all([...this.cache.keys()].map((id) => this.forget(id)));
  }
}
