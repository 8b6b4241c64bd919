import { DEFAULT_SYNC, presetMatching, providerInfo } from './providerCatalog';
import { linkingSettings } from './linkingValues';
import type { AccountValues, MailAccount, ProviderKey, SecretName } from './types';

/** The form's own values: the API's shape plus form-only helpers (the server preset). */
export interface AccountFormValues {
  preset?: string;
  title?: string;
  address?: string;
  aliases?: string[];
  enabled?: boolean;
  settings: Record<string, any>;
  secrets: Partial<Record<SecretName, string | null>>;
  userIds?: Array<number | string>;
  roleNames?: string[];
}

function isPlainObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mergeDeep(base: Record<string, any>, over: Record<string, any> | undefined): Record<string, any> {
  const out: Record<string, any> = { ...base };
  for (const [k, v] of Object.entries(over ?? {})) {
    out[k] = isPlainObject(v) && isPlainObject(base[k]) ? mergeDeep(base[k], v) : v;
  }
  return out;
}

/** Secrets are never prefilled: the form starts with none, the account's `secretsSet` says which are stored. */
export function initialFormValues(provider: ProviderKey, account?: MailAccount): AccountFormValues {
  const info = providerInfo(provider);
  const settings = mergeDeep(info?.defaults() ?? {}, account?.settings);
  return {
    preset: presetMatching(settings)?.key ?? 'custom',
    title: account?.title ?? '',
    address: account?.address ?? '',
    aliases: account?.aliases ?? [],
    enabled: account?.enabled ?? true,
    settings,
    secrets: {},
    userIds: account?.userIds ?? [],
    roleNames: account?.roleNames ?? [],
  };
}

const trim = (v: unknown) => (typeof v === 'string' ? v.trim() : v);
const optional = (v: unknown) => {
  const t = trim(v);
  return t === '' || t === null ? undefined : t;
};
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map((s) => String(s).trim()).filter(Boolean) : []);

function endpoint(stored: Record<string, any> | undefined, v: Record<string, any> | undefined) {
  return {
    ...(stored ?? {}),
    host: trim(v?.host) ?? '',
    port: Number(v?.port),
    security: v?.security ?? 'starttls',
    user: optional(v?.user),
  };
}

function sync(stored: Record<string, any> | undefined, v: Record<string, any> | undefined) {
  const folders = list(v?.folders);
  return {
    ...(stored ?? {}),
    folders: folders.length ? folders : undefined,
    intervalSeconds: Number(v?.intervalSeconds ?? DEFAULT_SYNC.intervalSeconds),
    initialWindowDays: Number(v?.initialWindowDays ?? DEFAULT_SYNC.initialWindowDays),
  };
}

/** SMTP/IMAP sign-in: a password, or "Microsoft (OAuth)" with the Entra ID app that issues the tokens. */
function serverSignIn(s: Record<string, any>) {
  if (s.authMethod !== 'microsoft-oauth') return { authMethod: 'password' };
  return { authMethod: 'microsoft-oauth', tenantId: trim(s.tenantId), clientId: trim(s.clientId) };
}

/** Exactly the settings each provider owns; keys the server wrote itself (grantedScopes …) are kept. */
function providerSettings(provider: ProviderKey, s: Record<string, any>, stored: Record<string, any>, address: string) {
  switch (provider) {
    case 'smtp-imap':
      return {
        smtp: endpoint(stored.smtp, s.smtp),
        imap: endpoint(stored.imap, s.imap),
        ...serverSignIn(s),
        appendSent: s.appendSent !== false,
        sync: sync(stored.sync, s.sync),
      };
    case 'smtp':
      return { smtp: endpoint(stored.smtp, s.smtp), ...serverSignIn(s) };
    case 'ms365-app':
      return {
        tenantId: trim(s.tenantId),
        clientId: trim(s.clientId),
        mailbox: optional(s.mailbox) ?? address,
        authMethod: 'client-secret',
        scopePreset: s.scopePreset ?? 'read-send',
        extraScopes: list(s.extraScopes),
        sync: sync(stored.sync, s.sync),
      };
    case 'ms365-delegated':
      return {
        tenantId: trim(s.tenantId),
        clientId: trim(s.clientId),
        scopePreset: s.scopePreset ?? 'read-send',
        extraScopes: list(s.extraScopes),
        allowRopc: Boolean(s.allowRopc),
        sync: sync(stored.sync, s.sync),
      };
    case 'ses':
      return {
        region: trim(s.region),
        accessKeyId: trim(s.accessKeyId),
        configurationSetName: optional(s.configurationSetName),
      };
    case 'sendgrid': {
      const categories = list(s.categories);
      return { categories: categories.length ? categories : undefined };
    }
    default:
      return s;
  }
}

/** Only what the admin typed: '' keeps the stored secret, null removes it. */
function typedSecrets(provider: ProviderKey, v: AccountFormValues) {
  const info = providerInfo(provider);
  const out: Partial<Record<SecretName, string | null>> = {};
  for (const name of info?.secrets ?? []) {
    const value = v.secrets?.[name];
    if (value === null) out[name] = null;
    else if (typeof value === 'string' && value !== '') out[name] = value;
  }
  return out;
}

export function toAccountValues(provider: ProviderKey, v: AccountFormValues, account?: MailAccount): AccountValues {
  const stored = account?.provider === provider ? (account.settings ?? {}) : {};
  const address = String(trim(v.address) ?? '');
  const settings = {
    ...stored,
    ...providerSettings(provider, v.settings ?? {}, stored, address),
    ...linkingSettings(v.settings),
  };
  return {
    title: String(trim(v.title) || address),
    provider,
    address,
    aliases: list(v.aliases),
    enabled: v.enabled !== false,
    settings,
    userIds: v.userIds ?? [],
    roleNames: v.roleNames ?? [],
    secrets: typedSecrets(provider, v),
  };
}
