import { Trigger } from '@nocobase/plugin-workflow/client';
import type { UseVariableOptions, VariableOption } from '@nocobase/plugin-workflow/client-v2';
import { useMailTranslation } from '../locale';
import { lazyT } from './labels';
import { MailReceivedFieldset } from './MailReceivedFieldset';

export const MAIL_RECEIVED_TRIGGER = 'mailbridgeReceived';

type Leaf = [key: string, label: string];
type Branch = [key: string, label: string, children: Leaf[]];

// The context the server passes to the workflow (src/server/linking/linkingService.ts triggerContext()).
const CONTEXT: Branch[] = [
  [
    'message',
    'Received mail',
    [
      ['id', 'Mail id (for "Answer in the thread of")'],
      ['subject', 'Subject'],
      ['fromAddress', 'Sender address'],
      ['from', 'Sender (name and address)'],
      ['to', 'To'],
      ['cc', 'CC'],
      ['replyTo', 'Reply to'],
      ['date', 'Date'],
      ['text', 'Body (plain text)'],
      ['html', 'Body (HTML)'],
      ['snippet', 'Snippet'],
      ['messageId', 'Message-ID'],
      ['inReplyTo', 'In reply to'],
      ['threadId', 'Thread id'],
      ['accountId', 'Account id'],
      ['folder', 'Folder'],
      ['hasAttachments', 'Has attachments'],
      ['attachments', 'Attachments (name, type, size)'],
    ],
  ],
  [
    'thread',
    'Thread',
    [
      ['id', 'Thread id'],
      ['subject', 'Subject'],
      ['messageCount', 'Number of mails'],
      ['participants', 'Participants'],
      ['lastMessageAt', 'Last mail at'],
    ],
  ],
  [
    'links',
    'Linked records',
    [
      ['collection', 'Collection'],
      ['recordId', 'Record id'],
      ['linkedBy', 'Linked by'],
      ['record', 'Record'],
    ],
  ],
];

// "E-Mail received": started once per new incoming mail that passes the filters.
export class MailReceivedTrigger extends Trigger {
  title = lazyT('E-Mail received');
  description = lazyT('Starts when a new mail arrives in a connected mailbox. Filter by account, folder, sender, subject or the collection the mail is linked to.');
  FieldsetLoader = () => Promise.resolve({ default: MailReceivedFieldset });

  validate() {
    return true;
  }

  useVariables(_config: Record<string, unknown>, options?: UseVariableOptions): VariableOption[] {
    // eslint-disable-next-line react-hooks/rules-of-hooks
    const { t } = useMailTranslation();
    const names = { label: 'label', value: 'value', ...options?.fieldNames };
    return CONTEXT.map(([key, label, children]) => ({
      [names.value]: key,
      [names.label]: t(label),
      children: children.map(([childKey, childLabel]) => ({ [names.value]: childKey, [names.label]: t(childLabel) })),
    }));
  }
}
