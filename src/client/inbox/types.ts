// The shapes the inbox reads from the server (src/server/messages, accounts/accountActions listUsable, linking).
export interface MailAddress {
  name?: string;
  address: string;
}

export interface UsableAccount {
  id: number | string;
  title: string;
  provider: string;
  address: string;
  aliases?: Array<string | MailAddress>;
  status?: string;
  enabled?: boolean;
  canReceive?: boolean;
}

export interface MailFolder {
  folder: string;
  specialUse?: string | null;
  total: number;
  unread: number;
}

/** A row of mailMessages:list */
export interface MailListItem {
  id: number | string;
  accountId: number | string;
  folder: string;
  threadId?: number | string | null;
  direction: 'in' | 'out' | string;
  from?: MailAddress | null;
  to?: MailAddress[];
  subject?: string | null;
  date?: string | null;
  snippet?: string | null;
  seen?: boolean;
  flags?: string[];
  hasAttachments?: boolean;
  size?: number;
  messageId?: string | null;
  parseError?: string | null;
}

export interface MailAttachment {
  id: number | string;
  filename?: string | null;
  contentType?: string | null;
  size?: number | null;
  cid?: string | null;
  disposition?: string | null;
}

/** mailMessages:get */
export interface MailMessage extends MailListItem {
  cc?: MailAddress[];
  bcc?: MailAddress[];
  replyTo?: MailAddress[];
  inReplyTo?: string | null;
  references?: string[] | null;
  text?: string | null;
  html?: string | null;
  attachments?: MailAttachment[];
}

export interface Page<T> {
  rows: T[];
  count: number;
  page: number;
  pageSize: number;
}

/** A row of mailLinks:list: a thread filed on a record, with its newest message */
export interface LinkedThread {
  id: number | string;
  accountId: number | string;
  subject?: string | null;
  lastMessageAt?: string | null;
  messageCount?: number;
  participants?: MailAddress[];
  lastMessage: MailListItem | null;
  link: { id: number | string; linkedBy?: string; createdAt?: string; createdById?: number | string | null };
}

export interface RecordRef {
  collection: string;
  id: string | number;
}

/** What mailMessages:send takes from the compose drawer */
export interface SendValues {
  accountId: number | string;
  from?: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string;
  inReplyTo?: string;
  references?: string[];
  attachments: Array<{ filename: string; contentType: string; contentBase64: string } | { mailAttachmentId: MailAttachment['id'] }>;
  record?: RecordRef;
  source: 'ui';
  wait: true;
}

/** mailMessages:send, mailOutbox:list and mailOutbox:retry answer with outbox entries */
export interface OutboxEntry {
  id: number | string;
  accountId?: number | string;
  state?: 'queued' | 'sending' | 'sent' | 'failed' | string;
  error?: string | null;
  lastError?: string | null;
  /** INTERRUPTED: the app stopped while sending it, so it may have gone out */
  errorCode?: string | null;
  subject?: string;
  to?: MailAddress[];
  cc?: MailAddress[];
  attachmentCount?: number;
  attempts?: number;
  nextAttemptAt?: string | null;
  createdAt?: string;
  source?: string;
}

export interface OutboxPage extends Page<OutboxEntry> {
  /** entries that wait for a person (retry or discard) */
  failed: number;
}
