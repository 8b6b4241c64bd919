import { toMailError } from '../../errors';
import type { SesAccountConfig } from './sesConfig';
import { createSesTransport, type SesAccountStatus, type SesTransportOptions } from './sesTransport';

export interface SesConnectionStep {
  name: 'ses';
  ok: boolean;
  ms: number;
  /** What GetAccount said: sending enabled, sandbox, quota. */
  account?: SesAccountStatus;
  error?: { code: string; message: string; hint: string };
}

export interface SesConnectionTestResult {
  ok: boolean;
  steps: SesConnectionStep[];
}

/** "Test connection" for an SES account: GetAccount with the account's key. Never throws. */
export async function testSesConnection(config: SesAccountConfig, opts: SesTransportOptions = {}): Promise<SesConnectionTestResult> {
  const started = Date.now();
  let step: SesConnectionStep;
  let account: SesAccountStatus | undefined;
  try {
    const transport = createSesTransport(config, opts);
    try {
      account = await transport.accountStatus();
      transport.assertCanSend(account);
      step = { name: 'ses', ok: true, ms: Date.now() - started, account };
    } finally {
      await transport.close();
    }
  } catch (err) {
    const e = toMailError(err);
    step = { name: 'ses', ok: false, ms: Date.now() - started, ...(account ? { account } : {}), error: { code: e.code, message: e.message, hint: e.hint } };
  }
  return { ok: step.ok, steps: [step] };
}
