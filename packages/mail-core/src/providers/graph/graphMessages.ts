/**
 * Graph message JSON ⇄ our message types: the fields a delta sync selects, their mapping to
 * SyncedMessage, and OutgoingMessage as a Graph `message` for the JSON send format.
 */
import type { Address, AttachmentMeta, HeadersOfInterest, OutgoingMessage, SyncedAddress, SyncedMessage } from '../../types';
import { normalizeMessageId } from '../../mime/messageId';

export interface GraphRecipient {
  emailAddress?: { name?: string | null; address?: string | null } | null;
}

export interface GraphMessage {
  id: string;
  '@removed'?: { reason?: string };
  internetMessageId?: string | null;
  conversationId?: string | null;
  subject?: string | null;
  from?: GraphRecipient | null;
  sender?: GraphRecipient | null;
  toRecipients?: GraphRecipient[] | null;
  ccRecipients?: GraphRecipient[] | null;
  bccRecipients?: GraphRecipient[] | null;
  replyTo?: GraphRecipient[] | null;
  receivedDateTime?: string | null;
  sentDateTime?: string | null;
  createdDateTime?: string | null;
  lastModifiedDateTime?: string | null;
  isRead?: boolean | null;
  isDraft?: boolean | null;
  flag?: { flagStatus?: string | null } | null;
  hasAttachments?: boolean | null;
  bodyPreview?: string | null;
  body?: { contentType?: string | null; content?: string | null } | null;
  internetMessageHeaders?: Array<{ name?: string | null; value?: string | null }> | null;
  parentFolderId?: string | null;
}

export interface GraphAttachmentMeta {
  '@odata.type'?: string;
  id: string;
  name?: string | null;
  contentType?: string | null;
  size?: number | null;
  isInline?: boolean | null;
  contentId?: string | null;
}

/** What the delta query selects: everything SyncedMessage needs, nothing more. */
export const DELTA_SELECT = [
  'id', 'internetMessageId', 'conversationId', 'subject', 'from', 'sender', 'toRecipients', 'ccRecipients', 'bccRecipients',
  'replyTo', 'receivedDateTime', 'sentDateTime', 'createdDateTime', 'lastModifiedDateTime', 'isRead', 'isDraft', 'flag',
  'hasAttachments', 'bodyPreview', 'body', 'internetMessageHeaders', 'parentFolderId',
].join(',');

export const ATTACHMENT_SELECT = 'id,name,contentType,size,isInline';

/** A SyncedMessage with Graph's conversation id (the shared type gains the field). */
export type GraphSyncedMessage = SyncedMessage & { conversationId?: string };

function address(r: GraphRecipient | null | undefined): SyncedAddress | undefined {
  const a = r?.emailAddress?.address?.trim();
  if (!a) return undefined;
  const name = r?.emailAddress?.name?.trim();
  return name && name.toLowerCase() !== a.toLowerCase() ? { name, address: a } : { address: a };
}

function addresses(list: GraphRecipient[] | null | undefined): SyncedAddress[] {
  return (list ?? []).map(address).filter((a): a is SyncedAddress => !!a);
}

const MESSAGE_IDS = /<[^<>\s]+>/g;

function header(m: GraphMessage, name: string): string | undefined {
  const lower = name.toLowerCase();
  return m.internetMessageHeaders?.find((h) => (h.name ?? '').toLowerCase() === lower)?.value ?? undefined;
}

export function flagsOf(m: GraphMessage): string[] {
  const flags: string[] = [];
  if (m.isRead) flags.push('\\Seen');
  if (m.flag?.flagStatus === 'flagged') flags.push('\\Flagged');
  if (m.isDraft) flags.push('\\Draft');
  return flags;
}

function headersOfInterest(m: GraphMessage): HeadersOfInterest {
  const out: HeadersOfInterest = {};
  const autoSubmitted = header(m, 'Auto-Submitted');
  const precedence = header(m, 'Precedence');
  const suppress = header(m, 'X-Auto-Response-Suppress');
  const listId = header(m, 'List-Id');
  if (autoSubmitted) out.autoSubmitted = autoSubmitted;
  if (precedence) out.precedence = precedence;
  if (suppress) out.xAutoResponseSuppress = suppress;
  if (listId) out.listId = listId;
  const deliveredTo = header(m, 'Delivered-To');
  const xOriginalTo = header(m, 'X-Original-To');
  if (deliveredTo) out.deliveredTo = deliveredTo;
  if (xOriginalTo) out.xOriginalTo = xOriginalTo;
  return out;
}

const dateOf = (value: string | null | undefined): Date | undefined => {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
};

/** True when the html refers to inline parts, which Graph does not count in hasAttachments. */
export function mayHaveInlineParts(m: GraphMessage): boolean {
  return (m.body?.contentType ?? '').toLowerCase() === 'html' && /\bcid:/i.test(m.body?.content ?? '');
}

export function attachmentMetaOf(a: GraphAttachmentMeta): AttachmentMeta {
  return {
    partId: a.id,
    ...(a.name ? { filename: a.name } : {}),
    contentType: a.contentType || 'application/octet-stream',
    size: a.size ?? 0,
    ...(a.contentId ? { cid: a.contentId.replace(/^<|>$/g, '') } : {}),
    disposition: a.isInline ? 'inline' : 'attachment',
  };
}

export function syncedMessageOf(m: GraphMessage, folder: string, attachments: GraphAttachmentMeta[] = []): GraphSyncedMessage {
  const isHtml = (m.body?.contentType ?? '').toLowerCase() === 'html';
  const content = m.body?.content ?? '';
  const received = dateOf(m.receivedDateTime);
  const inReplyTo = header(m, 'In-Reply-To')?.match(MESSAGE_IDS)?.[0];
  const references = header(m, 'References')?.match(MESSAGE_IDS) ?? [];
  const metas = attachments.map(attachmentMetaOf);
  const msg: GraphSyncedMessage = {
    providerId: m.id,
    folder,
    ...(m.internetMessageId ? { messageId: normalizeMessageId(m.internetMessageId) } : {}),
    ...(inReplyTo ? { inReplyTo } : {}),
    references,
    ...(address(m.from) ? { from: address(m.from) } : {}),
    ...(address(m.sender) ? { sender: address(m.sender) } : {}),
    to: addresses(m.toRecipients),
    cc: addresses(m.ccRecipients),
    bcc: addresses(m.bccRecipients),
    replyTo: addresses(m.replyTo),
    subject: m.subject ?? '',
    date: dateOf(m.sentDateTime) ?? received ?? dateOf(m.createdDateTime) ?? new Date(0),
    ...(received ? { receivedAt: received } : {}),
    flags: flagsOf(m),
    size: Buffer.byteLength(content) + metas.reduce((sum, a) => sum + a.size, 0),
    ...(isHtml ? { html: content } : { text: content }),
    snippet: (m.bodyPreview ?? '').slice(0, 255),
    hasAttachments: !!m.hasAttachments || metas.some((a) => a.disposition === 'attachment'),
    attachments: metas,
    headers: headersOfInterest(m),
    ...(m.conversationId ? { conversationId: m.conversationId } : {}),
  };
  return msg;
}

// ---------------------------------------------------------------------------------------------
// Outgoing, JSON format

export const recipientOf = (a: Address) => ({ emailAddress: { address: a.address.trim(), ...(a.name ? { name: a.name } : {}) } });

export interface GraphFileAttachment {
  '@odata.type': '#microsoft.graph.fileAttachment';
  name: string;
  contentType: string;
  contentBytes: string;
  isInline?: boolean;
  contentId?: string;
}

/**
 * OutgoingMessage as a Graph message. Graph accepts only X- headers here, so In-Reply-To and
 * References cannot be set: the MIME format is the one that threads.
 */
export function graphMessageJson(
  msg: OutgoingMessage,
  messageId: string,
  attachments: Array<{ filename: string; contentType?: string; content: Buffer; cid?: string }>,
  opts: { setFrom: boolean },
): Record<string, unknown> {
  const custom = Object.entries(msg.headers ?? {}).filter(([name]) => /^x-/i.test(name));
  const out: Record<string, unknown> = {
    subject: msg.subject,
    body: msg.html !== undefined ? { contentType: 'HTML', content: msg.html } : { contentType: 'Text', content: msg.text ?? '' },
    toRecipients: msg.to.map(recipientOf),
    ccRecipients: (msg.cc ?? []).map(recipientOf),
    bccRecipients: (msg.bcc ?? []).map(recipientOf),
    replyTo: (msg.replyTo ?? []).map(recipientOf),
    internetMessageId: messageId,
  };
  if (opts.setFrom) out.from = recipientOf(msg.from);
  if (custom.length) out.internetMessageHeaders = custom.map(([name, value]) => ({ name, value: String(value) }));
  if (attachments.length) {
    out.attachments = attachments.map((a): GraphFileAttachment => ({
      '@odata.type': '#microsoft.graph.fileAttachment',
      name: a.filename,
      contentType: a.contentType || 'application/octet-stream',
      contentBytes: a.content.toString('base64'),
      ...(a.cid ? { isInline: true, contentId: a.cid } : {}),
    }));
  }
  return out;
}
