import type { ProviderKey, SecretName } from './types';

export type Security = 'ssl' | 'starttls' | 'none';
export type ScopePreset = 'read' | 'send' | 'read-send';

export interface ProviderInfo {
  key: ProviderKey;
  /** i18n key of the one-line description on the provider card */
  description: string;
  sends: true;
  /** syncs mailboxes (has a Sync section and a "Sync now" action) */
  receives: boolean;
  /** the secrets the form asks for; the first one is required on create */
  secrets: SecretName[];
  /** optional secrets: may stay unset (and may be removed) */
  optionalSecrets?: SecretName[];
  /** settings of a new account */
  defaults(): Record<string, any>;
}

const SYNC_DEFAULTS = { intervalSeconds: 120, initialWindowDays: 30 };
export const DEFAULT_SYNC = SYNC_DEFAULTS;

export const PROVIDERS: ProviderInfo[] = [
  {
    key: 'ms365-delegated',
    description: 'Signs in as a user with Microsoft (OAuth). Best for personal and shared mailboxes.',
    sends: true,
    receives: true,
    secrets: ['clientSecret'],
    optionalSecrets: ['clientSecret'],
    defaults: () => ({
      tenantId: '',
      clientId: '',
      scopePreset: 'read-send',
      extraScopes: [],
      allowRopc: false,
      sync: { ...SYNC_DEFAULTS },
    }),
  },
  {
    key: 'ms365-app',
    description: 'An Entra ID app with application permissions reads and sends for any mailbox of the tenant.',
    sends: true,
    receives: true,
    secrets: ['clientSecret'],
    defaults: () => ({
      tenantId: '',
      clientId: '',
      mailbox: '',
      authMethod: 'client-secret',
      scopePreset: 'read-send',
      extraScopes: [],
      sync: { ...SYNC_DEFAULTS },
    }),
  },
  {
    key: 'smtp-imap',
    description: 'Any mail server: sends over SMTP and syncs folders over IMAP.',
    sends: true,
    receives: true,
    secrets: ['password', 'clientSecret'],
    optionalSecrets: ['clientSecret'],
    defaults: () => ({
      smtp: { host: '', port: 587, security: 'starttls' },
      imap: { host: '', port: 993, security: 'ssl' },
      authMethod: 'password',
      appendSent: true,
      sync: { ...SYNC_DEFAULTS },
    }),
  },
  {
    key: 'smtp',
    description: 'Sends through an SMTP server; incoming mail is not synced.',
    sends: true,
    receives: false,
    secrets: ['password', 'clientSecret'],
    optionalSecrets: ['clientSecret'],
    defaults: () => ({ smtp: { host: '', port: 587, security: 'starttls' }, authMethod: 'password' }),
  },
  {
    key: 'ses',
    description: 'Sends through Amazon Simple Email Service with an IAM access key.',
    sends: true,
    receives: false,
    secrets: ['secretAccessKey'],
    defaults: () => ({ region: '', accessKeyId: '' }),
  },
  {
    key: 'sendgrid',
    description: 'Sends through the Twilio SendGrid Web API with an API key.',
    sends: true,
    receives: false,
    secrets: ['apiKey'],
    defaults: () => ({ categories: [] }),
  },
];

export function providerInfo(key: string): ProviderInfo | undefined {
  return PROVIDERS.find((p) => p.key === key);
}

export function canSync(key: string): boolean {
  return Boolean(providerInfo(key)?.receives);
}

/** Whether this account syncs: a receiving provider, and for Microsoft a permission preset that reads. */
export function accountSyncs(account: { provider: string; settings?: Record<string, any> }): boolean {
  if (!canSync(account.provider)) return false;
  const microsoft = account.provider === 'ms365-app' || account.provider === 'ms365-delegated';
  return !microsoft || presetReads(account.settings?.scopePreset);
}

/** The usual port of each security mode. */
export const DEFAULT_PORTS: Record<'smtp' | 'imap', Record<Security, number>> = {
  smtp: { ssl: 465, starttls: 587, none: 25 },
  imap: { ssl: 993, starttls: 143, none: 143 },
};

export interface ServerPreset {
  key: string;
  /** i18n key of the label */
  label: string;
  /** i18n key of a note shown after picking it */
  note?: string;
  domains: string[];
  smtp: { host: string; port: number; security: Security };
  imap: { host: string; port: number; security: Security };
}

export const SERVER_PRESETS: ServerPreset[] = [
  {
    key: 'gmail',
    label: 'Gmail / Google Workspace',
    note: 'Google needs an app password: Google account → Security → 2-Step Verification → App passwords.',
    domains: ['gmail.com', 'googlemail.com'],
    smtp: { host: 'smtp.gmail.com', port: 465, security: 'ssl' },
    imap: { host: 'imap.gmail.com', port: 993, security: 'ssl' },
  },
  {
    key: 'outlook',
    label: 'Outlook.com',
    note: 'Outlook.com accepts passwords only where Microsoft still allows basic sign-in; otherwise use "Microsoft 365 (delegated)".',
    domains: ['outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'outlook.de', 'hotmail.de'],
    smtp: { host: 'smtp-mail.outlook.com', port: 587, security: 'starttls' },
    imap: { host: 'outlook.office365.com', port: 993, security: 'ssl' },
  },
  {
    key: 'office365',
    label: 'Microsoft 365 / Office 365',
    note: 'Most Microsoft 365 tenants turn off password sign-in for SMTP and IMAP; the Microsoft 365 providers need no password.',
    domains: [],
    smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls' },
    imap: { host: 'outlook.office365.com', port: 993, security: 'ssl' },
  },
];

export function presetForAddress(address: string): ServerPreset | undefined {
  const domain = address.split('@')[1]?.trim().toLowerCase();
  return domain ? SERVER_PRESETS.find((p) => p.domains.includes(domain)) : undefined;
}

export function presetMatching(settings: Record<string, any> | undefined): ServerPreset | undefined {
  const smtpHost = settings?.smtp?.host;
  return smtpHost ? SERVER_PRESETS.find((p) => p.smtp.host === smtpHost) : undefined;
}

/** What the delegated sign-in asks the user to consent to. */
export const DELEGATED_SCOPES: Record<ScopePreset, string[]> = {
  read: ['Mail.Read', 'offline_access', 'User.Read'],
  send: ['Mail.Send', 'offline_access', 'User.Read'],
  'read-send': ['Mail.Read', 'Mail.Send', 'offline_access', 'User.Read'],
};

/** The application permissions an app-only account needs (admin consent in Entra ID). */
export const APP_SCOPES: Record<ScopePreset, string[]> = {
  read: ['Mail.ReadWrite', 'User.Read.All'],
  send: ['Mail.Send', 'User.Read.All'],
  'read-send': ['Mail.Send', 'Mail.ReadWrite', 'User.Read.All'],
};

export function requestedScopes(
  kind: 'app' | 'delegated',
  preset: ScopePreset | undefined,
  extra: string[] | undefined,
): string[] {
  const base = (kind === 'app' ? APP_SCOPES : DELEGATED_SCOPES)[preset ?? 'read-send'] ?? [];
  return [...new Set([...base, ...(extra ?? []).map((s) => s.trim()).filter(Boolean)])];
}

/** What SMTP/IMAP signing in with Microsoft asks for: Exchange Online's IMAP and SMTP permissions. */
export function outlookScopes(provider: 'smtp-imap' | 'smtp'): string[] {
  const smtp = 'https://outlook.office.com/SMTP.Send';
  return provider === 'smtp-imap'
    ? ['https://outlook.office.com/IMAP.AccessAsUser.All', smtp, 'offline_access']
    : [smtp, 'offline_access'];
}

/** Scope presets whose accounts read mail (and so sync). */
export function presetReads(preset: ScopePreset | undefined): boolean {
  return preset !== 'send';
}

export const AWS_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'sa-east-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'me-south-1',
  'me-central-1',
  'af-south-1',
  'il-central-1',
];
