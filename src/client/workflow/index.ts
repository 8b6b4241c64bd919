import type { Application } from '@nocobase/client';
import { SendMailInstruction, SEND_MAIL_NODE } from './SendMailInstruction';
import { MailReceivedTrigger, MAIL_RECEIVED_TRIGGER } from './MailReceivedTrigger';
import { lazyT } from './labels';

export { SEND_MAIL_NODE, MAIL_RECEIVED_TRIGGER };

const GROUP = 'mailbridge';

/** Adds "E-Mail senden" and "E-Mail received" to the legacy workflow canvas (no-op when workflows are off). */
export function registerWorkflowNodes(app: Application) {
  const workflow = app.pm.get('workflow');
  if (!workflow?.registerInstruction) return false;
  const instruction = new SendMailInstruction();
  // Our own "E-Mail" group keeps the step apart from NocoBase's SMTP "Mailer"; hosts without groups get 'extended'.
  if (typeof workflow.registerInstructionGroup === 'function') {
    workflow.registerInstructionGroup(GROUP, { key: GROUP, label: lazyT('E-Mail') });
    instruction.group = GROUP;
  }
  workflow.registerInstruction(SEND_MAIL_NODE, instruction);
  workflow.registerTrigger?.(MAIL_RECEIVED_TRIGGER, MailReceivedTrigger);
  return true;
}
