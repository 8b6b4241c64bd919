import { Readable } from 'node:stream';
import { detectMimeType, encodeWords } from 'nodemailer/lib/mime-funcs';
import { MailError } from '../../errors';
import { normalizeMessageId } from '../../mime/messageId';
import type { Address, OutgoingAttachment, OutgoingMessage } from '../../types';
import { SENDGRID_MAX_RECIPIENTS_PER_REQUEST } from './sendgridConfig';

/** The v3 `POST /v3/mail/send` body, as far as Mailbridge fills it in. */
export interface SgAddress {
  email: string;
  name?: string;
}

export interface SgPersonalization {
  to: SgAddress[];
  cc?: SgAddress[];
  bcc?: SgAddress[];
}

export interface SgAttachment {
  /** base64 */
  content: string;
  filename: string;
  type?: string;
  disposition?: 'attachment' | 'inline';
  content_id?: string;
}

export interface SgMailSendBody {
  personalizations: SgPersonalization[];
  from: SgAddress;
  reply_to?: SgAddress;
  reply_to_list?: SgAddress[];
  subject: string;
  content: Array<{ type: string; value: string }>;
  attachments?: SgAttachment[];
  headers?: Record<string, string>;
  categories?: string[];
  custom_args?: Record<string, string>;
}

export interface SgRequestPlan {
  body: SgMailSendBody;
  /** Every address this request delivers to. */
  recipients: string[];
}

/**
 * Headers SendGrid sets itself and refuses in `headers` (its docs: "You may not overwrite the following
 * reserved headers"). Message-ID, In-Reply-To and References are not among them.
 */
export const SENDGRID_RESERVED_HEADERS = new Set([
  'x-sg-id',
  'x-sg-eid',
  'received',
  'dkim-signature',
  'content-type',
  'content-transfer-encoding',
  'to',
  'from',
  'subject',
  'reply-to',
  'cc',
  'bcc',
]);

/** Headers Mailbridge sets from the message itself; a same-named custom header loses. */
const OWN_HEADERS = new Set(['message-id', 'in-reply-to', 'references', 'sender']);

export const OUTBOX_CUSTOM_ARG = 'mailbridge_outbox_id';

type Role = 'to' | 'cc' | 'bcc';
interface Recipient {
  addr: SgAddress;
  role: Role;
}

const sgAddress = (a: Address): SgAddress => {
  const email = a.address.trim();
  const name = a.name?.trim();
  return name ? { email, name } : { email };
};

/** Every To, Cc and Bcc address once (case-insensitive; SendGrid refuses duplicates), first role wins. */
function collectRecipients(msg: OutgoingMessage): Recipient[] {
  const seen = new Set<string>();
  const out: Recipient[] = [];
  for (const [role, list] of [
    ['to', msg.to],
    ['cc', msg.cc],
    ['bcc', msg.bcc],
  ] as Array<[Role, Address[] | undefined]>) {
    for (const a of list ?? []) {
      const key = a.address.trim().toLowerCase();
      if (!key || seen.has(key)) continue;
      seen.add(key);
      out.push({ addr: sgAddress(a), role });
    }
  }
  return out;
}

/**
 * The personalizations of one request. SendGrid writes the To and Cc headers from a personalization and
 * requires a `to` in each: a group without To recipients shows its Cc recipients as To, and a group of
 * Bcc recipients only gets one personalization per recipient (each sees only their own address).
 */
function personalizationsOf(group: Recipient[]): SgPersonalization[] {
  const of = (role: Role) => group.filter((r) => r.role === role).map((r) => r.addr);
  const [to, cc, bcc] = [of('to'), of('cc'), of('bcc')];
  if (to.length) return [{ to, ...(cc.length ? { cc } : {}), ...(bcc.length ? { bcc } : {}) }];
  if (cc.length) return [{ to: cc, ...(bcc.length ? { bcc } : {}) }];
  return bcc.map((b) => ({ to: [b] }));
}

/** Header values must be ASCII for SendGrid: anything else becomes RFC 2047 encoded-words. */
function headerValue(value: string): string {
  return /^[\x00-\x7f]*$/.test(value) ? value : encodeWords(value, 'B', 52);
}

function formatMailbox(a: Address): string {
  const address = a.address.trim();
  const name = a.name?.trim();
  if (!name) return address;
  const display = /^[\x20-\x7e]*$/.test(name) ? `"${name.replace(/(["\\])/g, '\\$1')}"` : encodeWords(name, 'B', 52);
  return `${display} <${address}>`;
}

function headersOf(msg: OutgoingMessage, messageId: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, raw] of Object.entries(msg.headers ?? {})) {
    const lower = key.toLowerCase();
    if (SENDGRID_RESERVED_HEADERS.has(lower)) {
      throw new MailError('INVALID_HEADER', `The header "${key}" cannot be set when sending through SendGrid; the message was not sent.`, {
        retryable: false,
        hint: `SendGrid sets ${key} itself. Remove the custom "${key}" header (use the message's own recipients, subject and reply-to fields).`,
      });
    }
    if (OWN_HEADERS.has(lower)) continue;
    headers[key] = headerValue(String(raw));
  }
  if (msg.sender) headers['Sender'] = formatMailbox(msg.sender);
  headers['Message-ID'] = messageId;
  if (msg.inReplyTo) headers['In-Reply-To'] = normalizeMessageId(msg.inReplyTo);
  if (msg.references?.length) headers['References'] = msg.references.map(normalizeMessageId).join(' ');
  return headers;
}

async function contentBytes(content: OutgoingAttachment['content']): Promise<Buffer> {
  if (Buffer.isBuffer(content)) return content;
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  if (content instanceof Readable || typeof (content as NodeJS.ReadableStream)?.on === 'function') {
    const chunks: Buffer[] = [];
    for await (const chunk of content as AsyncIterable<Buffer | string>) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  return Buffer.from(String(content), 'utf8');
}

async function attachmentsOf(msg: OutgoingMessage): Promise<SgAttachment[]> {
  const out: SgAttachment[] = [];
  for (const att of msg.attachments ?? []) {
    const bytes = await contentBytes(att.content);
    out.push({
      content: bytes.toString('base64'),
      filename: att.filename,
      type: att.contentType || detectMimeType(att.filename),
      disposition: att.cid ? 'inline' : 'attachment',
      ...(att.cid ? { content_id: att.cid } : {}),
    });
  }
  return out;
}

export interface PlanOptions {
  categories?: string[];
  customArgs?: Record<string, string>;
  maxRecipientsPerRequest?: number;
}

/**
 * The mail/send requests for one message: the same content, the recipients split so that no request
 * has more than 1000 (To + Cc + Bcc). Each request carries the same Message-ID header.
 */
export async function planMailSend(msg: OutgoingMessage, messageId: string, opts: PlanOptions = {}): Promise<SgRequestPlan[]> {
  const recipients = collectRecipients(msg);
  if (recipients.length === 0) {
    throw new MailError('PROVIDER_ERROR', 'The message has no recipients; nothing was sent.', { retryable: false, hint: 'Add at least one recipient.' });
  }
  const content: SgMailSendBody['content'] = [];
  // SendGrid wants text/plain first, then text/html, and no empty values
  if (msg.text) content.push({ type: 'text/plain', value: msg.text });
  if (msg.html) content.push({ type: 'text/html', value: msg.html });
  if (content.length === 0) content.push({ type: 'text/plain', value: ' ' });
  const attachments = await attachmentsOf(msg);
  const replyTo = (msg.replyTo ?? []).map(sgAddress);
  const base: Omit<SgMailSendBody, 'personalizations'> = {
    from: sgAddress(msg.from),
    ...(replyTo.length === 1 ? { reply_to: replyTo[0] } : replyTo.length > 1 ? { reply_to_list: replyTo } : {}),
    subject: msg.subject || ' ',
    content,
    ...(attachments.length ? { attachments } : {}),
    headers: headersOf(msg, messageId),
    ...(opts.categories?.length ? { categories: [...opts.categories] } : {}),
    ...(opts.customArgs && Object.keys(opts.customArgs).length ? { custom_args: { ...opts.customArgs } } : {}),
  };
  const size = opts.maxRecipientsPerRequest ?? SENDGRID_MAX_RECIPIENTS_PER_REQUEST;
  const plans: SgRequestPlan[] = [];
  for (let i = 0; i < recipients.length; i += size) {
    const group = recipients.slice(i, i + size);
    plans.push({ body: { personalizations: personalizationsOf(group), ...base }, recipients: group.map((r) => r.addr.email) });
  }
  return plans;
}
