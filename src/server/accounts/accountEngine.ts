import type { Application } from '@nocobase/server';
import {
  createGraphAuth,
  createSource,
  createSyncSource,
  createSendTransport,
  testConnection,
  AccountConfig,
  MailError,
  Ms365DelegatedConfig,
  FolderInfo,
  MailSource,
  MailTransport,
  RuntimeOptions,
} from '@mailbridge/mail-core';
import { AccountSecrets, decryptSecrets } from './accountSecrets';
import { EngineContext, signInConfig, StoredAccount, toEngineConfig } from './engineConfig';
import { accountTokenCache } from '../oauth/tokenCacheStore';

interface CachedEngine {
  version: string;
  config: AccountConfig;
  runtime: RuntimeOptions;
  transport?: MailTransport;
  sync?: KeptSource;
}

interface KeptSource {
  source: MailSource;
  folders?: { list: FolderInfo[]; at: number };
  idle?: NodeJS.Timeout;
}

/** A sync source left open between polls closes after this long unused (IMAP servers limit connections). */
const KEEP_SOURCE_MS = 5 * 60_000;
/** Folder lists change rarely: a kept source lists them again after this long. */
const FOLDER_LIST_TTL_MS = 10 * 60_000;

// The engine objects of an account. Per account and configuration version it keeps one runtime (for a delegated
// Microsoft account: one token provider over the encrypted token cache, shared by transport and sources so two
// refreshes never race over one rotating refresh token), one pooled transport and one sync source kept open
// between polls, so a poll without news costs a STATUS per folder, not a login. Other sources are opened per use.
export class AccountEngine {
  private cache = new Map<string, CachedEngine>();
  /** Loads in progress, so concurrent first calls for an account share one entry (and one transport). */
  private loading = new Map<string, { version: string; entry: Promise<CachedEngine> }>();

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
    let cached = this.cache.get(id);
    if (!cached || cached.version !== version) {
      let loading = this.loading.get(id);
      if (loading?.version !== version) {
        const entry = this.load(id, version, model).finally(() => {
          if (this.loading.get(id)?.entry === entry) this.loading.delete(id);
        });
        this.loading.set(id, (loading = { version, entry }));
      }
      cached = await loading.entry;
    }
    return { config: cached.config, cached };
  }

  // secrets and settings change only with updatedAt (the token cache is read by the runtime, not the config)
  private async load(id: string, version: string, model: any): Promise<CachedEngine> {
    await this.forget(id);
    const config = await this.config(model);
    const cached = { version, config, runtime: this.runtimeFor(id, config, await this.signInConfig(model)) };
    this.cache.set(id, cached);
    return cached;
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
    cached.transport ??= createSendTransport(config, cached.runtime);
    return cached.transport;
  }

  async source(model: any): Promise<MailSource> {
    const { config, cached } = await this.entry(model);
    return createSource(config, cached.runtime);
  }

  /** The account's sync source, opened once and kept between polls; release it with keepSyncSource or dropSyncSource. */
  async syncSource(model: any): Promise<{ source: MailSource; folders: () => Promise<FolderInfo[]> }> {
    const { config, cached } = await this.entry(model);
    const kept = (cached.sync ??= { source: createSyncSource(config, cached.runtime) });
    if (kept.idle) clearTimeout(kept.idle);
    kept.idle = undefined;
    const folders = async () => {
      if (kept.folders && Date.now() - kept.folders.at < FOLDER_LIST_TTL_MS) return kept.folders.list;
      const list = await kept.source.listFolders();
      kept.folders = { list, at: Date.now() };
      return list;
    };
    return { source: kept.source, folders };
  }

  /** After a successful sync: the source stays open for the next poll, until it idles too long. */
  keepSyncSource(accountId: string) {
    const cached = this.cache.get(String(accountId));
    const kept = cached?.sync;
    if (!kept) return;
    kept.idle = setTimeout(() => void this.dropSyncSource(accountId), KEEP_SOURCE_MS);
    kept.idle.unref?.();
  }

  /** After a failed sync (or when idle): closed, so the next poll starts from a fresh login and folder list. */
  async dropSyncSource(accountId: string) {
    const cached = this.cache.get(String(accountId));
    const kept = cached?.sync;
    if (!cached || !kept) return;
    cached.sync = undefined;
    if (kept.idle) clearTimeout(kept.idle);
    await kept.source.close().catch(() => undefined);
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
    if (cached?.sync) await this.dropSyncSource(accountId);
    this.cache.delete(accountId);
    await cached?.transport?.close().catch(() => undefined);
  }

  async closeAll() {
    await Promise.all([...this.cache.keys()].map((id) => this.forget(id)));
  }
}
