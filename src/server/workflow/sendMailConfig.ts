import type { StoredOutgoingMessage, StoredAttachment } from '../sending/outgoingMessage';
import { parseSendValues } from '../sending/sendValues';

// The node's configuration after variables were filled in (processor.getParsedValue).
export interface SendMailNodeConfig {
  accountId: string;
  from?: string;
  to?: unknown;
  cc?: unknown;
  bcc?: unknown;
  replyTo?: unknown;
  subject?: string;
  contentType?: 'text' | 'html' | 'both';
  text?: string;
  html?: string;
  attachments?: unknown;
  /** A stored mail (mailMessages id) or a Message-ID "<…>" this mail answers. */
  inReplyTo?: string | number;
  ignoreFail?: boolean;
}

export interface FileRecord {
  filename?: string;
  title?: string;
  extname?: string;
  mimetype?: string;
  storageId?: number;
  [key: string]: unknown;
}

/** Attachment fields and file records arrive as objects, arrays, or arrays of arrays. */
export function fileRecordsOf(value: unknown): FileRecord[] {
  if (!value) return [];
  const list = Array.isArray(value) ? value.flat(3) : [value];
  return list.filter((f): f is FileRecord => Boolean(f) && typeof f === 'object');
}

export function attachmentFilename(file: FileRecord): string {
  const name = String(file.title ?? file.filename ?? 'attachment');
  return file.extname && !name.endsWith(String(file.extname)) ? `${name}${file.extname}` : name;
}

export interface ThreadParent {
  messageId: string;
  references: string[];
  subject?: string;
}

export function buildNodeMessage(
  account: { address: string; title?: string; aliases?: any[] },
  config: SendMailNodeConfig,
  attachments: StoredAttachment[],
  parent: ThreadParent | null,
): StoredOutgoingMessage {
  const contentType = config.contentType ?? 'html';
  const subject = config.subject?.trim() || (parent?.subject ? replySubject(parent.subject) : '');
  return parseSendValues(account, {
    from: config.from || undefined,
    to: config.to,
    cc: config.cc,
    bcc: config.bcc,
    replyTo: config.replyTo,
    subject,
    text: contentType === 'html' ? undefined : config.text,
    html: contentType === 'text' ? undefined : config.html,
    inReplyTo: parent?.messageId,
    references: parent ? [...parent.references, parent.messageId] : undefined,
    attachments,
  });
}

export function replySubject(subject: string): string {
  return /^re:/i.test(subject.trim()) ? subject : `Re: ${subject}`;
}
