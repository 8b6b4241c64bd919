/** The provider registry: the only place that knows which module serves which account kind. */
import { MailError, toMailError } from '../errors';
import type { FolderInfo, MailSource, MailTransport } from '../types';
import { assertAuth, assertEndpoint, secretsOf, type AccountConfig, type RuntimeOptions } from './accountConfig';
import { ImapSource } from './imap/imapSource';
import { SyncWorkerSource } from './imap/syncWorkerSource';
import { openImapConnection } from './imap/imapConnection';
import { listFolders } from './imap/imapFolders';
import { SmtpTransport } from './smtp/smtpTransport';
import { SmtpWorkerTransport } from './smtp/smtpWorkerTransport';
import { createGraphSource, createGraphTransport, testGraphConnection } from './graph';
import { createSesTransport, testSesConnection, type SesAccountStatus } from './ses';
import { createSendGridTransport, testSendGridConnection } from './sendgrid';

export type ProviderKind = AccountConfig['provider'];

export interface ProviderCapabilities {
  send: boolean;
  receive: boolean;
}

const CAPABILITIES: Record<ProviderKind, ProviderCapabilities> = {
  'smtp-imap': { send: true, receive: true },
  smtp: { send: true, receive: false },
  'ms365-app': { send: true, receive: true },
  'ms365-delegated': { send: true, receive: true },
  ses: { send: true, receive: false },
  sendgrid: { send: true, receive: false },
};

export function providerCapabilities(kind: ProviderKind): ProviderCapabilities {
  const caps = CAPABILITIES[kind];
  if (!caps) throw unknownProvider(kind);
  return caps;
}

function unknownProvider(kind: unknown): MailError {
  return new MailError('PROVIDER_ERROR', `Unknown mail provider "${String(kind)}".`, {
    retryable: false,
    hint: 'Choose one of the supported account types in the account settings.',
  });
}

export function createTransport(config: AccountConfig, runtime: RuntimeOptions = {}): MailTransport {
  switch (config.provider) {
    case 'smtp-imap':
    case 'smtp':
      assertEndpoint('SMTP', config.smtp);
      assertAuth(config.auth);
      return new SmtpTransport({ address: config.address, smtp: config.smtp, auth: config.auth }, runtime);
    case 'ms365-app':
    case 'ms365-delegated':
      return createGraphTransport(config, runtime);
    case 'ses':
      return createSesTransport(config);
    case 'sendgrid':
      return createSendGridTransport(config);
    default:
      throw unknownProvider((config as { provider?: unknown }).provider);
  }
}

/**
 * A transport kept for sending many mails: for SMTP, MIME build and sending run in a worker thread shared by all
 * such transports (MAILBRIDGE_SEND_WORKER=off keeps them on the calling thread); other providers as createTransport.
 */
export function createSendTransport(config: AccountConfig, runtime: RuntimeOptions = {}): MailTransport {
  if ((config.provider !== 'smtp-imap' && config.provider !== 'smtp') || process.env.MAILBRIDGE_SEND_WORKER === 'off') return createTransport(config, runtime);
  assertEndpoint('SMTP', config.smtp);
  assertAuth(config.auth);
  return new SmtpWorkerTransport({ address: config.address, smtp: config.smtp, auth: config.auth }, runtime);
}

/** A source for accounts that receive mail; MailError PROVIDER_ERROR for send-only accounts. */
export function createSource(config: AccountConfig, runtime: RuntimeOptions = {}): MailSource {
  switch (config.provider) {
    case 'smtp-imap':
      assertEndpoint('IMAP', config.imap);
      assertAuth(config.auth);
      return new ImapSource({ address: config.address, imap: config.imap, auth: config.auth }, runtime);
    case 'ms365-app':
    case 'ms365-delegated':
      return createGraphSource(config, runtime);
    case 'smtp':
    case 'ses':
    case 'sendgrid':
      throw new MailError('PROVIDER_ERROR', 'This account type only sends mail.', {
        retryable: false,
        hint: 'Use an SMTP/IMAP or Microsoft 365 account to receive mail.',
      });
    default:
      throw unknownProvider((config as { provider?: unknown }).provider);
  }
}

/**
 * A source for a sync that runs for long: for IMAP, listing and syncing run in a worker thread shared by all such
 * sources (MAILBRIDGE_SYNC_WORKER=off keeps them on the calling thread); other providers as createSource.
 */
export function createSyncSource(config: AccountConfig, runtime: RuntimeOptions = {}): MailSource {
  if (config.provider !== 'smtp-imap' || process.env.MAILBRIDGE_SYNC_WORKER === 'off') return createSource(config, runtime);
  assertEndpoint('IMAP', config.imap);
  assertAuth(config.auth);
  return new SyncWorkerSource({ address: config.address, imap: config.imap, auth: config.auth }, runtime);
}

export interface ConnectionStep {
  name: 'smtp' | 'imap' | 'ses' | 'sendgrid' | 'config' | 'token' | 'mailbox' | 'permissions' | 'folders';
  ok: boolean;
  ms: number;
  folders?: FolderInfo[];
  account?: SesAccountStatus;
  scopes?: string[];
  detail?: Record<string, unknown>;
  error?: { code: string; message: string; hint: string; needsReconnect?: boolean };
}

export interface ConnectionTestResult {
  ok: boolean;
  steps: ConnectionStep[];
}

async function timed(name: ConnectionStep['name'], work: () => Promise<Partial<ConnectionStep> | void>): Promise<ConnectionStep> {
  const started = Date.now();
  try {
    const extra = (await work()) || {};
    return { name, ok: true, ms: Date.now() - started, ...extra };
  } catch (err) {
    const e = toMailError(err);
    return { name, ok: false, ms: Date.now() - started, error: { code: e.code, message: e.message, hint: e.hint } };
  }
}

/** "Test connection": logs in to every server of the account, lists IMAP folders. Never throws. */
export async function testConnection(config: AccountConfig, runtime: RuntimeOptions = {}): Promise<ConnectionTestResult> {
  if (config.provider === 'ms365-app' || config.provider === 'ms365-delegated') {
    return testGraphConnection(config, runtime) as Promise<ConnectionTestResult>;
  }
  if (config.provider === 'ses') return testSesConnection(config) as Promise<ConnectionTestResult>;
  if (config.provider === 'sendgrid') return testSendGridConnection(config) as Promise<ConnectionTestResult>;
  const steps: Array<Promise<ConnectionStep>> = [
    timed('smtp', async () => {
      const transport = createTransport(config, runtime);
      try {
        await transport.verify();
      } finally {
        await transport.close();
      }
    }),
  ];
  if (config.provider === 'smtp-imap') {
    steps.push(
      timed('imap', async () => {
        assertEndpoint('IMAP', config.imap);
        assertAuth(config.auth);
        const conn = await openImapConnection({ address: config.address, imap: config.imap, auth: config.auth }, runtime);
        try {
          return { folders: await listFolders(conn.client) };
        } catch (err) {
          throw toMailError(err, { protocol: 'imap', operation: 'list', host: config.imap.host, port: config.imap.port, secrets: secretsOf(config.auth) });
        } finally {
          await conn.client.logout().catch(() => conn.client.close());
        }
      }),
    );
  }
  const done = await Promise.all(steps);
  return { ok: done.every((s) => s.ok), steps: done };
}

export type { AccountConfig, RuntimeOptions } from './accountConfig';
