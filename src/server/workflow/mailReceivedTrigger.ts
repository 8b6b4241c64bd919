import { Trigger } from '@nocobase/plugin-workflow';

export const MAIL_RECEIVED_TRIGGER = 'mailbridgeReceived';

/** Trigger config (flow.config of a workflow of type 'mailbridgeReceived'); every filter is optional. */
export interface MailReceivedConfig {
  /** One account id or several; empty = every account. */
  accountId?: string | number | Array<string | number> | null;
  /** Exact folder path, e.g. 'INBOX'. */
  folder?: string | null;
  /** Case-insensitive substring of the sender's address or name. */
  fromContains?: string | null;
  /** Case-insensitive substring of the subject. */
  subjectContains?: string | null;
  /** Only mail linked to a record of this collection. */
  linkedCollection?: string | null;
}

export interface MailReceivedContext {
  message: Record<string, any>;
  thread: Record<string, any> | null;
  links: Array<{ collection: string; recordId: string; linkedBy: string; record: Record<string, any> | null }>;
}

export interface MailReceivedEvent {
  accountId: string;
  folder: string;
  fromAddress: string | null;
  fromName?: string | null;
  subject: string;
  /** Collections the message's thread is linked to. */
  linkedCollections: string[];
  /** Identifies the mail across folders and copies; the execution's event key is derived from it. */
  messageKey: string;
}

const text = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : '');

export function matchesConfig(config: MailReceivedConfig | undefined, event: MailReceivedEvent): boolean {
  const c = config ?? {};
  const accounts = (
    Array.isArray(c.accountId) ? c.accountId : c.accountId != null && c.accountId !== '' ? [c.accountId] : []
  ).map(String);
  if (accounts.length && !accounts.includes(String(event.accountId))) return false;
  if (c.folder && c.folder !== event.folder) return false;
  const from = text(c.fromContains);
  if (from && !`${event.fromAddress ?? ''} ${event.fromName ?? ''}`.toLowerCase().includes(from)) return false;
  const subject = text(c.subjectContains);
  if (subject && !(event.subject ?? '').toLowerCase().includes(subject)) return false;
  if (c.linkedCollection && !event.linkedCollections.includes(c.linkedCollection)) return false;
  return true;
}

// "E-Mail received": linking calls fire() once per new incoming mail (never for imported history unless the
// account imports it, never for auto-replies, lists, own mail or storms). The execution's eventKey (unique in the
// executions table) is derived from workflow + account + Message-ID, so a mail seen in two folders or by two nodes
// starts a workflow once.
export class MailReceivedTrigger extends Trigger {
  private workflows = new Map<string, any>();

  on(workflow: any) {
    this.workflows.set(String(workflow.id), workflow);
  }

  off(workflow: any) {
    this.workflows.delete(String(workflow.id));
  }

  validateConfig(config: Record<string, any>): Record<string, string> | null {
    const errors: Record<string, string> = {};
    for (const key of ['folder', 'fromContains', 'subjectContains', 'linkedCollection']) {
      if (config?.[key] != null && typeof config[key] !== 'string') errors[key] = `"${key}" must be text`;
    }
    const account = config?.accountId;
    const ok = (v: unknown) => typeof v === 'string' || typeof v === 'number';
    if (account != null && account !== '' && !(ok(account) || (Array.isArray(account) && account.every(ok)))) {
      errors.accountId = '"accountId" must be an account id or a list of them';
    }
    return Object.keys(errors).length ? errors : null;
  }

  validateContext(values: any) {
    return values?.message ? null : { message: 'A message is required' };
  }

  /** "Execute manually" in the workflow editor: runs with the given context. */
  execute(workflow: any, values: any, options: any) {
    return this.workflow.trigger(workflow, values, options) as any;
  }

  /** Enabled workflows whose filters the mail passes. */
  matching(event: MailReceivedEvent): any[] {
    return [...this.workflows.values()].filter((w) => matchesConfig(w.config, event));
  }

  hasWorkflows(): boolean {
    return this.workflows.size > 0;
  }

  /** Starts the workflows; a synchronous workflow runs to its end before this resolves. */
  async fire(workflows: any[], event: MailReceivedEvent, context: MailReceivedContext) {
    for (const workflow of workflows) {
      const eventKey = `${MAIL_RECEIVED_TRIGGER}:${workflow.id}:${event.accountId}:${event.messageKey}`.slice(0, 255);
      try {
        await this.workflow.trigger(workflow, context, { eventKey });
      } catch (err: any) {
        this.workflow
          .getLogger(workflow.id)
          .error(`"E-Mail received" could not start workflow ${workflow.id}: ${err?.message ?? err}`);
      }
    }
  }
}
