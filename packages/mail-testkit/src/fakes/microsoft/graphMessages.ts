/**
 * Message and attachment JSON as Graph v1.0 writes it, `$select` included, and the reverse: a
 * Graph message JSON (sendMail / create draft) checked and turned into the fake's message fields.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import { bodyPreviewOf, graphId, type FakeAttachment, type FakeFolder, type FakeMessage, type GraphEmailAddress } from './mailbox';

export const MESSAGE_PROPERTIES = [
  'id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'categories', 'receivedDateTime', 'sentDateTime',
  'hasAttachments', 'internetMessageId', 'subject', 'bodyPreview', 'importance', 'parentFolderId', 'conversationId',
  'conversationIndex', 'isDeliveryReceiptRequested', 'isReadReceiptRequested', 'isRead', 'isDraft', 'webLink',
  'inferenceClassification', 'body', 'uniqueBody', 'sender', 'from', 'toRecipients', 'ccRecipients', 'bccRecipients',
  'replyTo', 'flag', 'internetMessageHeaders',
];
const DEFAULT_EXCLUDED = new Set(['uniqueBody', 'internetMessageHeaders']);
export const ATTACHMENT_PROPERTIES = ['id', 'lastModifiedDateTime', 'name', 'contentType', 'size', 'isInline'];
const FILE_ATTACHMENT_EXTRA = ['contentId', 'contentLocation', 'contentBytes'];

export class ODataError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** `$select=a,b` checked against a type's properties (Graph answers 400 for unknown names). */
export function parseSelect(value: string | null, properties: string[], typeName: string): string[] | null {
  if (!value) return null;
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!properties.includes(name)) {
      throw new ODataError(400, 'RequestBroker--ParseUri', `Could not find a property named '${name}' on type '${typeName}'.`);
    }
  }
  return names;
}

const recipient = (a: GraphEmailAddress) => ({ emailAddress: { name: a.name, address: a.address } });

export function messageJson(msg: FakeMessage, folder: FakeFolder | undefined, select: string[] | null, immutable: boolean, origin: string): Record<string, unknown> {
  const all: Record<string, unknown> = {
    id: immutable ? msg.immutableId : msg.restId,
    createdDateTime: msg.createdDateTime,
    lastModifiedDateTime: msg.lastModifiedDateTime,
    changeKey: msg.changeKey,
    categories: [],
    receivedDateTime: msg.receivedDateTime,
    sentDateTime: msg.sentDateTime,
    hasAttachments: msg.attachments.some((a) => !a.isInline),
    internetMessageId: msg.internetMessageId,
    subject: msg.subject,
    bodyPreview: bodyPreviewOf(msg.body),
    importance: msg.importance,
    parentFolderId: folder?.id ?? msg.folderId,
    conversationId: msg.conversationId,
    conversationIndex: Buffer.from(msg.conversationId.slice(0, 22)).toString('base64'),
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead: msg.isRead,
    isDraft: msg.isDraft,
    webLink: `${origin}/owa/?ItemID=${encodeURIComponent(msg.restId)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: 'focused',
    body: { contentType: msg.body.contentType, content: msg.body.content },
    uniqueBody: { contentType: msg.body.contentType, content: msg.body.content },
    sender: msg.sender ? recipient(msg.sender) : msg.from ? recipient(msg.from) : null,
    from: msg.from ? recipient(msg.from) : null,
    toRecipients: msg.toRecipients.map(recipient),
    ccRecipients: msg.ccRecipients.map(recipient),
    bccRecipients: msg.bccRecipients.map(recipient),
    replyTo: msg.replyTo.map(recipient),
    flag: { flagStatus: msg.flagStatus },
    internetMessageHeaders: msg.internetMessageHeaders.map((h) => ({ name: h.name, value: h.value })),
  };
  const out: Record<string, unknown> = { '@odata.etag': `W/"${msg.changeKey}"`, id: all.id };
  for (const key of select ?? MESSAGE_PROPERTIES.filter((p) => !DEFAULT_EXCLUDED.has(p))) out[key] = all[key];
  return out;
}

export function attachmentJson(att: FakeAttachment, select: string[] | null): Record<string, unknown> {
  const all: Record<string, unknown> = {
    id: att.id,
    lastModifiedDateTime: att.lastModifiedDateTime,
    name: att.name,
    contentType: att.contentType,
    size: att.size,
    isInline: att.isInline,
    contentId: att.contentId ?? null,
    contentLocation: null,
    contentBytes: att.content.toString('base64'),
  };
  const out: Record<string, unknown> = { '@odata.type': '#microsoft.graph.fileAttachment', '@odata.mediaContentType': att.contentType };
  for (const key of select ?? [...ATTACHMENT_PROPERTIES, ...FILE_ATTACHMENT_EXTRA]) out[key] = all[key];
  return out;
}

export function newAttachment(name: string, contentType: string | undefined, content: Buffer, isInline = false, contentId?: string): FakeAttachment {
  return {
    id: graphId('AAMkAtt', 40),
    name,
    contentType: contentType || 'application/octet-stream',
    size: content.length,
    isInline,
    contentId,
    content,
    lastModifiedDateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading a message JSON

const WRITABLE = new Set([
  'subject', 'body', 'toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo', 'from', 'sender', 'attachments',
  'internetMessageHeaders', 'importance', 'isReadReceiptRequested', 'isDeliveryReceiptRequested', 'flag', 'categories',
  'internetMessageId', 'singleValueExtendedProperties', 'multiValueExtendedProperties', 'isRead',
]);

export interface MessageFields {
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  from?: GraphEmailAddress;
  sender?: GraphEmailAddress;
  toRecipients: GraphEmailAddress[];
  ccRecipients: GraphEmailAddress[];
  bccRecipients: GraphEmailAddress[];
  replyTo: GraphEmailAddress[];
  attachments: FakeAttachment[];
  headers: Array<{ name: string; value: string }>;
  internetMessageId?: string;
  importance: 'low' | 'normal' | 'high';
}

function invalid(message: string, code = 'ErrorInvalidRequest'): never {
  throw new ODataError(400, code, message);
}

function readAddress(value: unknown, where: string): GraphEmailAddress {
  const email = (value as { emailAddress?: { address?: unknown; name?: unknown } } | null)?.emailAddress;
  const address = typeof email?.address === 'string' ? email.address.trim() : '';
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(address)) {
    invalid(`At least one recipient is not valid., Recipient '${address}' is not resolved. All recipients must be resolved before a message can be submitted.`, 'ErrorInvalidRecipients');
  }
  void where;
  return { name: typeof email?.name === 'string' ? email.name : address, address };
}

function readAddresses(value: unknown, where: string): GraphEmailAddress[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) invalid(`Property '${where}' must be a collection of recipients.`, 'RequestBodyRead');
  return value.map((v) => readAddress(v, where));
}

/** A `microsoft.graph.message` JSON as sendMail / POST messages accept it; throws ODataError. */
export function readMessageJson(value: unknown): MessageFields {
  if (!value || typeof value !== 'object' || Array.isArray(value)) invalid('The message is missing or is not an object.', 'ErrorInvalidRequest');
  const m = value as Record<string, unknown>;
  for (const key of Object.keys(m)) {
    if (!WRITABLE.has(key) && !key.startsWith('@odata.')) invalid(`The property '${key}' does not exist on type 'microsoft.graph.message'. Make sure to only use property names that are defined by the type.`, 'RequestBodyRead');
  }
  let body: MessageFields['body'] = { contentType: 'text', content: '' };
  if (m.body !== undefined) {
    const b = m.body as { contentType?: unknown; content?: unknown };
    const type = String(b?.contentType ?? 'text').toLowerCase();
    if (type !== 'text' && type !== 'html') invalid(`Cannot convert the literal '${String(b?.contentType)}' to the expected type 'microsoft.graph.bodyType'.`, 'RequestBodyRead');
    body = { contentType: type as 'text' | 'html', content: typeof b.content === 'string' ? b.content : '' };
  }
  const headers: MessageFields['headers'] = [];
  if (m.internetMessageHeaders !== undefined) {
    if (!Array.isArray(m.internetMessageHeaders)) invalid("Property 'internetMessageHeaders' must be a collection.", 'RequestBodyRead');
    for (const h of m.internetMessageHeaders as Array<{ name?: unknown; value?: unknown }>) {
      const name = String(h?.name ?? '');
      if (!/^x-/i.test(name)) {
        invalid(`The internet message header name '${name}' should start with 'x-' or 'X-'.`, 'InvalidInternetMessageHeader');
      }
      headers.push({ name, value: String(h?.value ?? '') });
    }
  }
  const attachments: FakeAttachment[] = [];
  if (m.attachments !== undefined) {
    if (!Array.isArray(m.attachments)) invalid("Property 'attachments' must be a collection.", 'RequestBodyRead');
    for (const a of m.attachments as Array<Record<string, unknown>>) attachments.push(readAttachmentJson(a));
  }
  const importance = String(m.importance ?? 'normal').toLowerCase();
  return {
    subject: typeof m.subject === 'string' ? m.subject : '',
    body,
    from: m.from ? readAddress(m.from, 'from') : undefined,
    sender: m.sender ? readAddress(m.sender, 'sender') : undefined,
    toRecipients: readAddresses(m.toRecipients, 'toRecipients'),
    ccRecipients: readAddresses(m.ccRecipients, 'ccRecipients'),
    bccRecipients: readAddresses(m.bccRecipients, 'bccRecipients'),
    replyTo: readAddresses(m.replyTo, 'replyTo'),
    attachments,
    headers,
    internetMessageId: typeof m.internetMessageId === 'string' ? m.internetMessageId : undefined,
    importance: importance === 'low' || importance === 'high' ? importance : 'normal',
  };
}

export function readAttachmentJson(a: Record<string, unknown>): FakeAttachment {
  if (a?.['@odata.type'] !== '#microsoft.graph.fileAttachment') {
    invalid("The attachment must have '@odata.type': '#microsoft.graph.fileAttachment'.", 'ErrorInvalidRequest');
  }
  if (typeof a.name !== 'string' || !a.name) invalid("The attachment 'name' is required.", 'ErrorInvalidRequest');
  if (typeof a.contentBytes !== 'string') invalid("The attachment 'contentBytes' is required.", 'ErrorInvalidRequest');
  const content = Buffer.from(a.contentBytes as string, 'base64');
  return newAttachment(a.name as string, typeof a.contentType === 'string' ? a.contentType : undefined, content, a.isInline === true, typeof a.contentId === 'string' ? a.contentId : undefined);
}

// ---------------------------------------------------------------------------------------------
// MIME of a message that did not arrive as MIME ($value)

export async function composeMime(msg: FakeMessage): Promise<Buffer> {
  if (msg.mime) return msg.mime;
  const addr = (a: GraphEmailAddress) => ({ name: a.name, address: a.address });
  const headerMap: Record<string, string> = {};
  for (const h of msg.internetMessageHeaders) if (/^x-/i.test(h.name)) headerMap[h.name] = h.value;
  const inReplyTo = msg.internetMessageHeaders.find((h) => h.name.toLowerCase() === 'in-reply-to')?.value;
  const references = msg.internetMessageHeaders.find((h) => h.name.toLowerCase() === 'references')?.value;
  const composer = new MailComposer({
    from: msg.from ? addr(msg.from) : undefined,
    sender: msg.sender && msg.from && msg.sender.address !== msg.from.address ? addr(msg.sender) : undefined,
    to: msg.toRecipients.map(addr),
    cc: msg.ccRecipients.length ? msg.ccRecipients.map(addr) : undefined,
    replyTo: msg.replyTo.length ? msg.replyTo.map(addr) : undefined,
    subject: msg.subject,
    messageId: msg.internetMessageId,
    inReplyTo,
    references,
    date: new Date(msg.sentDateTime),
    text: msg.body.contentType === 'text' ? msg.body.content : undefined,
    html: msg.body.contentType === 'html' ? msg.body.content : undefined,
    headers: headerMap,
    attachments: msg.attachments.map((a) => ({ filename: a.name, contentType: a.contentType, content: a.content, cid: a.contentId })),
  });
  return composer.compile().build();
}
