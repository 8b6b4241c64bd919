/**
 * The slow path for a message whose structure the fast path could not read: fetch the whole source
 * and let mailparser make sense of it. Its attachments get part ids "mp:<index>", which
 * downloadAttachment resolves by parsing the source again.
 */
import type { FetchMessageObject } from 'imapflow';
import { simpleParser, type AddressObject, type Attachment, type ParsedMail } from 'mailparser';
import type { AttachmentMeta, HeadersOfInterest, SyncedAddress, SyncedMessage } from '../../types';
import { envelopeFields, hasRealAttachments, messageIdsOf, snippetOf } from './imapParse';

export const FULL_PARSE_PREFIX = 'mp:';

export const PARSER_OPTIONS = { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true } as const;

function addresses(value: AddressObject | AddressObject[] | undefined): SyncedAddress[] {
  const objects = Array.isArray(value) ? value : value ? [value] : [];
  const out: SyncedAddress[] = [];
  const visit = (entries: AddressObject['value']) => {
    for (const entry of entries) {
      if (entry.group) visit(entry.group);
      else if (entry.address) out.push(entry.name ? { name: entry.name, address: entry.address } : { address: entry.address });
    }
  };
  for (const obj of objects) visit(obj.value);
  return out;
}

function headerString(parsed: ParsedMail, name: string): string | undefined {
  const value = parsed.headers.get(name);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && 'value' in value && typeof (value as { value: unknown }).value === 'string') {
    return (value as { value: string }).value;
  }
  if (typeof value === 'object' && 'text' in value) return String((value as { text: unknown }).text);
  return String(value);
}

function headersOf(parsed: ParsedMail): HeadersOfInterest {
  const out: HeadersOfInterest = {};
  const pairs: Array<[keyof HeadersOfInterest, string]> = [
    ['autoSubmitted', 'auto-submitted'],
    ['precedence', 'precedence'],
    ['xAutoResponseSuppress', 'x-auto-response-suppress'],
    ['listId', 'list-id'],
    ['deliveredTo', 'delivered-to'],
    ['xOriginalTo', 'x-original-to'],
  ];
  for (const [key, header] of pairs) {
    const value = headerString(parsed, header);
    if (value) out[key] = value;
  }
  return out;
}

function attachmentMeta(att: Attachment, index: number): AttachmentMeta {
  const meta: AttachmentMeta = {
    partId: `${FULL_PARSE_PREFIX}${index}`,
    contentType: att.contentType || 'application/octet-stream',
    size: att.size ?? att.content?.length ?? 0,
    disposition: att.contentDisposition === 'inline' ? 'inline' : 'attachment',
  };
  if (att.filename) meta.filename = att.filename;
  if (att.cid) meta.cid = att.cid;
  return meta;
}

export async function parseSource(source: Buffer): Promise<ParsedMail> {
  return simpleParser(source, PARSER_OPTIONS);
}

/** SyncedMessage from a full parse; `fetched` supplies uid, flags, size and arrival time. */
export function messageFromParsed(folder: string, fetched: FetchMessageObject, parsed: ParsedMail): SyncedMessage {
  const synced = envelopeFields(folder, fetched);
  const references = Array.isArray(parsed.references) ? parsed.references : parsed.references ? [parsed.references] : [];
  synced.references = references.flatMap((r) => messageIdsOf(r));
  const messageId = messageIdsOf(parsed.messageId)[0];
  if (messageId) synced.messageId = messageId;
  const inReplyTo = messageIdsOf(parsed.inReplyTo)[0];
  if (inReplyTo) synced.inReplyTo = inReplyTo;
  const from = addresses(parsed.from)[0];
  if (from) synced.from = from;
  synced.to = addresses(parsed.to);
  synced.cc = addresses(parsed.cc);
  synced.bcc = addresses(parsed.bcc);
  synced.replyTo = addresses(parsed.replyTo);
  synced.subject = parsed.subject ?? '';
  if (parsed.date && !Number.isNaN(parsed.date.getTime())) synced.date = parsed.date;
  if (parsed.text) synced.text = parsed.text;
  if (typeof parsed.html === 'string') synced.html = parsed.html;
  synced.snippet = snippetOf(synced.text, synced.html);
  synced.attachments = parsed.attachments.map(attachmentMeta);
  synced.hasAttachments = hasRealAttachments(synced.attachments);
  synced.headers = headersOf(parsed);
  if (!synced.size) synced.size = fetched.source?.length ?? 0;
  return synced;
}

/** The attachment behind an "mp:<index>" part id. */
export function attachmentByFullParseId(parsed: ParsedMail, partId: string): Attachment | undefined {
  const index = Number(partId.slice(FULL_PARSE_PREFIX.length));
  return Number.isInteger(index) ? parsed.attachments[index] : undefined;
}
