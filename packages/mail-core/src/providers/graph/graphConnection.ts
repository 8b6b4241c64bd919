/**
 * "Test connection" for a Microsoft 365 account: token, mailbox, permissions granted vs needed,
 * folders. Never throws; every step says what failed and what to do.
 */
import { MailError, toMailError } from '../../errors';
import type { FolderInfo } from '../../types';
import { openGraphAccount, type GraphAccount } from './graphAccount';
import type { GraphRuntime, Ms365Config } from './graphConfig';
import { GraphSource } from './graphSource';
import { verifyMailbox } from './graphTransport';

export interface GraphConnectionStep {
  name: 'config' | 'token' | 'mailbox' | 'permissions' | 'folders';
  ok: boolean;
  ms: number;
  /** e.g. the mailbox id, the granted and missing permissions */
  detail?: Record<string, unknown>;
  folders?: FolderInfo[];
  error?: { code: string; message: string; hint: string; needsReconnect?: boolean };
}

export interface GraphConnectionResult {
  ok: boolean;
  steps: GraphConnectionStep[];
}

/** One of each group is needed: sending, reading. */
export const NEEDED_PERMISSIONS: Array<{ purpose: 'send' | 'receive'; anyOf: string[] }> = [
  { purpose: 'send', anyOf: ['Mail.Send'] },
  { purpose: 'receive', anyOf: ['Mail.ReadWrite', 'Mail.Read'] },
];

async function step(name: GraphConnectionStep['name'], work: () => Promise<Partial<GraphConnectionStep> | void>): Promise<GraphConnectionStep> {
  const started = Date.now();
  try {
    const extra = (await work()) || {};
    return { name, ok: true, ms: Date.now() - started, ...extra };
  } catch (err) {
    const e = toMailError(err);
    const needsReconnect = (e as { needsReconnect?: boolean }).needsReconnect === true;
    return { name, ok: false, ms: Date.now() - started, error: { code: e.code, message: e.message, hint: e.hint, ...(needsReconnect ? { needsReconnect } : {}) } };
  }
}

export async function testGraphConnection(config: Ms365Config, runtime: GraphRuntime = {}): Promise<GraphConnectionResult> {
  const steps: GraphConnectionStep[] = [];
  let account: GraphAccount | undefined;
  const configStep = await step('config', async () => {
    account = openGraphAccount(config, runtime);
  });
  if (!configStep.ok || !account) return { ok: false, steps: [configStep] };
  const acc = account;

  const token = await step('token', async () => {
    await acc.auth.getToken();
    return { detail: { permissions: acc.auth.grantedPermissions() ?? null } };
  });
  steps.push(token);
  if (!token.ok) return { ok: false, steps };

  steps.push(await step('mailbox', async () => ({ detail: await verifyMailbox(acc) })));

  const granted = acc.auth.grantedPermissions();
  const permissions = await step('permissions', async () => {
    if (!granted) return { detail: { granted: null, note: 'The token does not list its permissions; the mailbox and folder steps show what works.' } };
    const has = (p: string) => granted.includes(p) || granted.includes(`${p}.Shared`);
    const missing = NEEDED_PERMISSIONS.filter((need) => !need.anyOf.some(has)).map((need) => need.anyOf[0]);
    if (missing.length) {
      const list = missing.join(' and ');
      throw new MailError('AUTH_FAILED', `The app is missing the Microsoft Graph permission${missing.length > 1 ? 's' : ''} ${list} (granted: ${granted.join(', ') || 'none'}).`, {
        retryable: false,
        hint: acc.client.delegated
          ? `Grant admin consent for ${list} in Entra ID, or reconnect the account and accept ${list} when Microsoft asks.`
          : `Grant admin consent for ${list} in Entra ID: App registrations → your app → API permissions → add the Microsoft Graph application permission${missing.length > 1 ? 's' : ''} ${list} → "Grant admin consent".`,
        context: { protocol: 'graph', operation: 'verify' },
      });
    }
    return { detail: { granted } };
  });
  steps.push(permissions);

  const canRead = !granted || granted.some((p) => /^Mail\.Read/.test(p));
  if (canRead) {
    steps.push(
      await step('folders', async () => {
        const source = new GraphSource(config, { ...runtime, tokenProvider: acc.auth });
        try {
          return { folders: await source.listFolders() };
        } finally {
          await source.close();
        }
      }),
    );
  }
  return { ok: steps.every((s) => s.ok), steps };
}
