// The shapes the mailAccounts actions answer with (see src/server/accounts/accountActions.ts).
export type ProviderKey = 'ms365-delegated' | 'ms365-app' | 'smtp-imap' | 'smtp' | 'ses' | 'sendgrid';

export type AccountStatusValue = 'new' | 'ok' | 'error' | 'needs-reconnect';

export type SecretName = 'password' | 'clientSecret' | 'secretAccessKey' | 'apiKey';

export interface SyncProgress {
  state: 'syncing';
  folder?: string;
  added?: number;
  changed?: number;
  deleted?: number;
}

export interface MailAccount {
  id: string | number;
  title: string;
  provider: ProviderKey;
  address: string;
  aliases?: string[];
  enabled?: boolean;
  settings?: Record<string, any>;
  status?: AccountStatusValue | string;
  syncProgress?: SyncProgress | null;
  lastSyncAt?: string | null;
  lastSuccessAt?: string | null;
  lastError?: string | null;
  /** the MailError code of lastError */
  lastErrorCode?: string | null;
  consecutiveFailures?: number;
  userIds?: Array<number | string>;
  roleNames?: string[];
  secretsSet?: Partial<Record<SecretName, true>>;
}

/** What create/update/test take: secrets only as typed (a missing key keeps the stored one, null clears it). */
export interface AccountValues {
  title: string;
  provider: ProviderKey;
  address: string;
  aliases: string[];
  enabled: boolean;
  settings: Record<string, any>;
  userIds: Array<number | string>;
  roleNames: string[];
  secrets: Partial<Record<SecretName, string | null>>;
}

export interface MailErrorInfo {
  code?: string;
  message: string;
  hint?: string;
}

export interface FolderInfo {
  path: string;
  name?: string;
  specialUse?: string;
}

export interface TestStep {
  name: string;
  ok: boolean;
  ms?: number;
  error?: MailErrorInfo & { needsReconnect?: boolean };
  folders?: FolderInfo[];
  /** SES: sending status and quota */
  account?: { sendingEnabled?: boolean; productionAccess?: boolean; summary?: string };
  /** SendGrid: the API key's scopes */
  scopes?: string[];
  /** Microsoft 365: granted permissions, mailbox … */
  detail?: Record<string, any>;
}

export interface TestResult {
  ok: boolean;
  steps: TestStep[];
  error?: MailErrorInfo;
}

export interface SyncResult {
  ok: boolean;
  /** The sync took longer than the request waits and goes on in the background. */
  running?: boolean;
  skipped?: string;
  folders?: Array<{ folder: string; added: number; changed: number; deleted: number }>;
  error?: MailErrorInfo;
}
