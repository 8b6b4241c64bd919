import React from 'react';
import { MailOutlined } from '@ant-design/icons';
import { Instruction } from '@nocobase/plugin-workflow/client';
import type { UseVariableOptions, VariableOption } from '@nocobase/plugin-workflow/client-v2';
import { useMailTranslation } from '../locale';
import { lazyT } from './labels';
import { SendMailFieldset } from './SendMailFieldset';

export const SEND_MAIL_NODE = 'mailbridgeSend';

/** What the step's job result holds (src/server/workflow/sendMailInstruction.ts jobResult()). */
const OUTPUTS: Array<[key: string, label: string]> = [
  ['messageId', 'Message-ID'],
  ['threadId', 'Thread id'],
  ['accepted', 'Accepted recipients'],
  ['rejected', 'Rejected recipients'],
  ['state', 'Sending state'],
  ['outboxId', 'Outbox entry id'],
  ['providerMessageId', 'Provider message id'],
  ['error', 'Error'],
];

// "E-Mail senden": one class for the legacy canvas (the modern FieldsetLoader form is what it renders when no
// Formily `fieldset` is set) and, later, the modern one.
export class SendMailInstruction extends Instruction {
  type = SEND_MAIL_NODE;
  title = lazyT('Send e-mail');
  group = 'extended';
  description = lazyT('Sends an e-mail through one of the connected mail accounts. Recipients, subject and body can use variables; the mail is stored in its thread.');
  icon = (<MailOutlined />);
  FieldsetLoader = () => Promise.resolve({ default: SendMailFieldset });

  createDefaultConfig() {
    return { to: [''], cc: [], bcc: [], contentType: 'html', attachments: [], ignoreFail: false };
  }

  useVariables(node: { key: string; title?: string }, options?: UseVariableOptions): VariableOption {
    // eslint-disable-next-line react-hooks/rules-of-hooks
    const { t } = useMailTranslation();
    const names = { label: 'label', value: 'value', ...options?.fieldNames };
    return {
      [names.value]: node.key,
      [names.label]: node.title || t('Send e-mail'),
      children: OUTPUTS.map(([key, label]) => ({ [names.value]: key, [names.label]: t(label) })),
    };
  }
}
