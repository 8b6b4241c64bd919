/**
 * Turns what IMAP FETCH returned (envelope, body structure, a few header fields, the text parts)
 * into SyncedMessage, without parsing the whole message. Pure functions, no connection.
 */
import type { FetchMessageObject, MessageAddressObject, MessageStructureObject } from 'imapflow';
import libmime from 'libmime';
import { decode as decodeCharset } from 'libmime/lib/charset';
import libqp from 'libqp';
import type { AttachmentMeta, HeadersOfInterest, SyncedAddress, SyncedMessage } from '../../types';

/** Header fields fetched with every message, besides the envelope. */
export const HEADER_FIELDS = [
  'references',
  'in-reply-to',
  'auto-submitted',
  'precedence',
  'x-auto-response-suppress',
  'list-id',
  'delivered-to',
  'x-original-to',
];

export const SNIPPET_LENGTH = 200;

export interface BodyPlan {
  /** Part ids of the text/plain body parts, in order. */
  text: MessageStructureObject[];
  html: MessageStructureObject[];
  attachments: AttachmentMeta[];
}

const partIdOf = (node: MessageStructureObject) => node.part ?? '1';

function filenameOf(node: MessageStructureObject): string | undefined {
  const name = node.dispositionParameters?.filename ?? node.parameters?.name;
  if (name) return name;
  if (node.type === 'message/rfc822') return `${(node.envelope?.subject || 'message').replace(/[\\/:*?"<>|]+/g, '_')}.eml`;
  return undefined;
}

/** Decoded size from the encoded size: base64 carries 57 bytes per 78 (76 + CRLF). */
export function decodedSize(node: MessageStructureObject): number {
  const size = node.size ?? 0;
  return (node.encoding ?? '').toLowerCase() === 'base64' ? Math.floor((size * 57) / 78) : size;
}

function attachmentOf(node: MessageStructureObject): AttachmentMeta {
  const cid = node.id ? node.id.replace(/^\s*<|>\s*$/g, '') : undefined;
  const disposition = (node.disposition ?? '').toLowerCase() === 'inline' ? 'inline' : 'attachment';
  const meta: AttachmentMeta = { partId: partIdOf(node), contentType: node.type, size: decodedSize(node), disposition };
  const filename = filenameOf(node);
  if (filename) meta.filename = filename;
  if (cid) meta.cid = cid;
  return meta;
}

function isBodyText(node: MessageStructureObject): boolean {
  if (node.type !== 'text/plain' && node.type !== 'text/html') return false;
  const disposition = (node.disposition ?? '').toLowerCase();
  if (disposition === 'attachment') return false;
  return disposition === 'inline' || !filenameOf(node);
}

/**
 * A multipart whose parts are all empty: the boundary in the header matches nothing in the body
 * (the server found no parts). The body as a whole is then the best text there is.
 */
function isHollowMultipart(root: MessageStructureObject): boolean {
  if (!root.type.startsWith('multipart/')) return false;
  const leaves: MessageStructureObject[] = [];
  const collect = (node: MessageStructureObject) => (node.childNodes?.length ? node.childNodes.forEach(collect) : leaves.push(node));
  collect(root);
  return leaves.every((leaf) => !leaf.size);
}

const WHOLE_BODY: MessageStructureObject = { part: 'TEXT', type: 'text/plain', encoding: '7bit' };

/** Which parts are the body and which are attachments. */
export function planBody(root: MessageStructureObject): BodyPlan {
  const plan: BodyPlan = { text: [], html: [], attachments: [] };
  if (isHollowMultipart(root)) {
    plan.text.push(WHOLE_BODY);
    return plan;
  }
  const walk = (node: MessageStructureObject) => {
    if (node.type.startsWith('multipart/')) {
      for (const child of node.childNodes ?? []) walk(child);
      return;
    }
    if (isBodyText(node)) {
      (node.type === 'text/html' ? plan.html : plan.text).push(node);
      return;
    }
    plan.attachments.push(attachmentOf(node));
  };
  walk(root);
  return plan;
}

/** The part ids to fetch for a plan, in a stable order (used to group messages into one FETCH). */
export function bodyPartIds(plan: BodyPlan): string[] {
  return [...plan.text, ...plan.html].map(partIdOf);
}

const META_CHARSET = /<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_.:-]+)/i;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const charsetSupport = new Map<string, boolean>();

/** Whether libmime can decode the charset (it would silently read an unknown one as UTF-8). */
function knownCharset(charset: string): boolean {
  const key = charset.toLowerCase();
  let supported = charsetSupport.get(key);
  if (supported === undefined) {
    supported = libmime.createDecodeStream(charset).supported;
    if (charsetSupport.size < 1000) charsetSupport.set(key, supported);
  }
  return supported;
}

/**
 * Bytes → string in the declared charset. An unknown or missing charset is read as UTF-8 when the
 * bytes are valid UTF-8, else as Windows-1252, which is what such mail nearly always turns out to be.
 */
export function decodeWithCharset(bytes: Buffer, charset: string | undefined): string {
  if (charset && knownCharset(charset)) return decodeCharset(bytes, charset);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return decodeCharset(bytes, 'windows-1252');
  }
}

/** Removes the transfer encoding, converts the charset to a JS string, unwraps format=flowed. */
export function decodeTextPart(raw: Buffer, node: MessageStructureObject, alreadyBinary = false): string {
  const encoding = (node.encoding ?? '7bit').toLowerCase();
  let bytes = raw;
  if (!alreadyBinary) {
    if (encoding === 'base64') bytes = Buffer.from(raw.toString('latin1'), 'base64');
    else if (encoding === 'quoted-printable') bytes = libqp.decode(raw);
  }
  let charset = node.parameters?.charset;
  if (!charset && node.type === 'text/html') charset = META_CHARSET.exec(bytes.subarray(0, 2048).toString('latin1'))?.[1];
  let text = decodeWithCharset(bytes, charset);
  if ((node.parameters?.format ?? '').toLowerCase() === 'flowed') {
    text = libmime.decodeFlowed(text, (node.parameters?.delsp ?? '').toLowerCase() === 'yes');
  }
  return unixLineEnds(text);
}

/** Line ends as mailparser gives them: \n (a string split is a fraction of the cost of a RegExp replace). */
function unixLineEnds(text: string): string {
  if (!text.includes('\r')) return text;
  const crlf = text.split('\r\n').join('\n');
  return crlf.includes('\r') ? crlf.split('\r').join('\n') : crlf;
}

/** Parses a header block (as fetched with HEADER.FIELDS) into lower-cased name → unfolded value. */
export function parseHeaderBlock(block: Buffer | undefined): Map<string, string> {
  const fields = new Map<string, string>();
  if (!block || !block.length) return fields;
  const unfolded = block.toString('utf8').replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!fields.has(name)) fields.set(name, line.slice(colon + 1).trim());
  }
  return fields;
}

/** All `<id>` tokens of a References or In-Reply-To value. */
export function messageIdsOf(value: string | undefined): string[] {
  if (!value) return [];
  const ids = value.match(/<[^<>\s]+>/g);
  if (ids) return ids;
  return value
    .split(/[\s,]+/)
    .filter((v) => v.includes('@'))
    .map((v) => `<${v.replace(/^<|>$/g, '')}>`);
}

/** RFC 2047 encoded words decoded; a value without any, or one that does not decode, as it is. */
export function decodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

function decodeHeaderValue(value: string | undefined): string | undefined {
  return value === undefined ? undefined : decodedWords(value).trim();
}

export function headersOfInterest(fields: Map<string, string>): HeadersOfInterest {
  const out: HeadersOfInterest = {};
  const set = (key: keyof HeadersOfInterest, header: string) => {
    const value = decodeHeaderValue(fields.get(header));
    if (value) out[key] = value;
  };
  set('autoSubmitted', 'auto-submitted');
  set('precedence', 'precedence');
  set('xAutoResponseSuppress', 'x-auto-response-suppress');
  set('listId', 'list-id');
  set('deliveredTo', 'delivered-to');
  set('xOriginalTo', 'x-original-to');
  return out;
}

/** dovecot's ENVELOPE stands in this for a missing domain ("To: alice"); the header itself has just the local part. */
const MISSING_DOMAIN = /@MISSING_DOMAIN$/;

function addressOf(a: MessageAddressObject | undefined): SyncedAddress | undefined {
  const address = a?.address?.trim().replace(MISSING_DOMAIN, '');
  if (!address) return undefined;
  const name = a?.name?.trim();
  return name ? { name, address } : { address };
}

export function addressList(list: MessageAddressObject[] | undefined): SyncedAddress[] {
  return (list ?? []).map(addressOf).filter((a): a is SyncedAddress => !!a);
}

function sameAddresses(a: MessageAddressObject[] | undefined, b: MessageAddressObject[] | undefined): boolean {
  const key = (list: MessageAddressObject[] | undefined) => addressList(list).map((x) => x.address.toLowerCase()).join(',');
  return key(a) === key(b);
}

function validDate(value: Date | string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Just enough html-to-text for a preview line. */
export function htmlToPreviewText(html: string): string {
  return html
    .slice(0, 64 * 1024)
    .replace(/<(head|style|script|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

/** The first SNIPPET_LENGTH characters with whitespace runs collapsed; reads no further than needed. */
export function collapseWhitespacePrefix(source: string, max: number): string {
  let out = '';
  let pendingSpace = false;
  for (let i = 0; i < source.length && out.length < max + 1; i++) {
    const code = source.charCodeAt(i);
    if (code === 32 || (code >= 9 && code <= 13) || code === 160) {
      pendingSpace = out.length > 0;
      continue;
    }
    if (pendingSpace) {
      out += ' ';
      pendingSpace = false;
    }
    out += source[i];
  }
  return out.length > max ? out.slice(0, max - 1) + '…' : out;
}

export function snippetOf(text: string | undefined, html: string | undefined): string {
  const fromText = text ? collapseWhitespacePrefix(text, SNIPPET_LENGTH) : '';
  if (fromText || !html) return fromText;
  return collapseWhitespacePrefix(htmlToPreviewText(html), SNIPPET_LENGTH);
}

export function hasRealAttachments(attachments: AttachmentMeta[]): boolean {
  return attachments.some((a) => a.disposition === 'attachment' || !a.cid);
}

/** The fields every path fills from the envelope and the fetch attributes. */
export function envelopeFields(folder: string, msg: FetchMessageObject, fields = parseHeaderBlock(msg.headers)): SyncedMessage {
  const env = msg.envelope ?? {};
  const receivedAt = validDate(msg.internalDate);
  const inReplyTo = messageIdsOf(fields.get('in-reply-to') ?? env.inReplyTo)[0];
  const synced: SyncedMessage = {
    providerId: String(msg.uid),
    folder,
    references: messageIdsOf(fields.get('references')),
    to: addressList(env.to),
    cc: addressList(env.cc),
    bcc: addressList(env.bcc),
    // IMAP fills an absent Reply-To with From (RFC 3501 7.4.2); that is no reply-to of its own
    replyTo: sameAddresses(env.replyTo, env.from) ? [] : addressList(env.replyTo),
    subject: env.subject ?? '',
    date: validDate(env.date) ?? receivedAt ?? new Date(0),
    flags: msg.flags ? [...msg.flags] : [],
    size: msg.size ?? 0,
    snippet: '',
    hasAttachments: false,
    attachments: [],
    headers: headersOfInterest(fields),
  };
  const messageId = messageIdsOf(env.messageId)[0];
  if (messageId) synced.messageId = messageId;
  if (inReplyTo) synced.inReplyTo = inReplyTo;
  const from = addressOf(env.from?.[0]);
  if (from) synced.from = from;
  const sender = addressOf(env.sender?.[0]);
  if (sender && sender.address !== from?.address) synced.sender = sender;
  if (receivedAt) synced.receivedAt = receivedAt;
  return synced;
}

function joinParts(parts: string[], separator: string): string | undefined {
  const present = parts.filter((p) => p.length);
  return present.length ? present.join(separator) : undefined;
}

/** Looks up a fetched part by id; partial fetches come back as "1]<0>" keys. */
export function partBody(bodies: Map<string, Buffer> | undefined, partId: string): Buffer | undefined {
  if (!bodies) return undefined;
  const direct = bodies.get(partId);
  if (direct) return direct;
  const wanted = partId.toLowerCase();
  for (const [key, value] of bodies) {
    if (key.replace(/\]?<\d+>$/, '').toLowerCase() === wanted) return value;
  }
  return undefined;
}

export interface PartsExtras {
  /** Parts the server already decoded (BINARY fetch). */
  binaryParts?: Set<string>;
  /** The header fields, when the caller parsed them already. */
  fields?: Map<string, string>;
}

/**
 * The fast path: envelope + structure + the fetched text parts → SyncedMessage.
 * Throws when the structure or a part cannot be decoded; the caller falls back to a full parse.
 */
export function messageFromParts(folder: string, msg: FetchMessageObject, plan: BodyPlan, bodies: Map<string, Buffer> | undefined, extras: PartsExtras = {}): SyncedMessage {
  const { binaryParts, fields } = extras;
  const synced = envelopeFields(folder, msg, fields);
  const decodeAll = (nodes: MessageStructureObject[]) =>
    nodes.map((node) => {
      const raw = partBody(bodies, partIdOf(node));
      if (!raw) throw new Error(`body part ${partIdOf(node)} missing from the FETCH answer`);
      return decodeTextPart(raw, node, binaryParts?.has(partIdOf(node)));
    });
  const text = joinParts(decodeAll(plan.text), '\n\n');
  const html = joinParts(decodeAll(plan.html), '<br/>');
  if (text !== undefined) synced.text = text;
  if (html !== undefined) synced.html = html;
  synced.snippet = snippetOf(text, html);
  synced.attachments = plan.attachments;
  synced.hasAttachments = hasRealAttachments(plan.attachments);
  return synced;
}
