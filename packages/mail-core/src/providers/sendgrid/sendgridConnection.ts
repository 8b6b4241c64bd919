import { toMailError } from '../../errors';
import type { SendGridAccountConfig } from './sendgridConfig';
import { createSendGridTransport, type SendGridTransportOptions } from './sendgridTransport';

export interface SendGridConnectionStep {
  name: 'sendgrid';
  ok: boolean;
  ms: number;
  /** The API key's scopes, when SendGrid told them. */
  scopes?: string[];
  error?: { code: string; message: string; hint: string };
}

export interface SendGridConnectionTestResult {
  ok: boolean;
  steps: SendGridConnectionStep[];
}

/** "Test connection" for a SendGrid account: GET /v3/scopes, requires mail.send. Never throws. */
export async function testSendGridConnection(config: SendGridAccountConfig, opts: SendGridTransportOptions = {}): Promise<SendGridConnectionTestResult> {
  const started = Date.now();
  let scopes: string[] | undefined;
  let step: SendGridConnectionStep;
  try {
    const transport = createSendGridTransport(config, opts);
    try {
      scopes = (await transport.keyStatus()).scopes;
      await transport.verify();
      step = { name: 'sendgrid', ok: true, ms: Date.now() - started, scopes };
    } finally {
      await transport.close();
    }
  } catch (err) {
    const e = toMailError(err);
    step = { name: 'sendgrid', ok: false, ms: Date.now() - started, ...(scopes ? { scopes } : {}), error: { code: e.code, message: e.message, hint: e.hint } };
  }
  return { ok: step.ok, steps: [step] };
}
