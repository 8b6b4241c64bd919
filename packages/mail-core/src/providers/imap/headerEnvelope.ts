/**
 * The fields IMAP ENVELOPE gives, read from a message's own header block instead: for mail read from its source,
 * which holds the header anyway. The shape is imapflow's (names decoded, groups flattened to their members), so
 * envelopeFields() treats both alike.
 */
import type { MessageAddressObject, MessageEnvelopeObject } from 'imapflow';
import addressparser from 'nodemailer/lib/addressparser';
import { decodedWords } from './imapParse';

// One address, with or without a display name, and nothing in it that needs addressparser's tokenizer (quotes,
// comments, groups, lists, escapes, domain literals): most From and To fields. Read the way addressparser reads it.
const ATOMS = String.raw`[^\s"(),:;<>@[\]\\]+`;
const NAMED_ADDRESS = new RegExp(String.raw`^\s*([^"(),:;<>@[\]\\]*?)\s*<(${ATOMS}@${ATOMS})>\s*$`);
const BARE_ADDRESS = new RegExp(String.raw`^\s*(${ATOMS}@${ATOMS})\s*$`);

// A local part with a comment ("root (Cron Daemon)"): addressparser drops the comment when there is no @; IMAP
// servers read it as the name, as for an address with a domain.
const LOCAL_PART_WITH_COMMENT = new RegExp(String.raw`^\s*(${ATOMS})\s*\(([^()\\]*)\)\s*$`);

function plainAddress(value: string): MessageAddressObject | undefined {
  const named = NAMED_ADDRESS.exec(value);
  if (named) return { name: decodedWords(named[1]), address: named[2] };
  const bare = BARE_ADDRESS.exec(value);
  if (bare) return { name: '', address: bare[1] };
  const local = LOCAL_PART_WITH_COMMENT.exec(value);
  return local ? { name: decodedWords(local[2].trim()), address: local[1] } : undefined;
}

export function addressesOf(value: string | undefined): MessageAddressObject[] | undefined {
  if (!value) return undefined;
  const plain = plainAddress(value);
  return plain ? [plain] : parsedAddresses(value);
}

/** Every address of a field value, through addressparser; undefined when there is none. */
export function parsedAddresses(value: string): MessageAddressObject[] | undefined {
  const out: MessageAddressObject[] = [];
  for (const entry of addressparser(value, { flatten: true })) {
    if (entry.address) out.push({ name: decodedWords(entry.name ?? ''), address: entry.address });
    // a bare local part ("postmaster", "<root>"): addressparser reads it as a name, IMAP servers as an address
    else if (entry.name && !/\s/.test(entry.name)) out.push({ name: '', address: entry.name });
  }
  return out.length ? out : undefined;
}

/** ENVELOPE from the header fields (lower-cased name → unfolded value), as imapflow would have parsed it. */
export function envelopeOfFields(fields: Map<string, string>): MessageEnvelopeObject {
  const envelope: MessageEnvelopeObject = {};
  const date = fields.get('date');
  if (date) envelope.date = new Date(date);
  const subject = fields.get('subject');
  if (subject) envelope.subject = decodedWords(subject);
  const lists = [
    ['from', 'from'],
    ['sender', 'sender'],
    ['replyTo', 'reply-to'],
    ['to', 'to'],
    ['cc', 'cc'],
    ['bcc', 'bcc'],
  ] as const;
  for (const [key, header] of lists) {
    const list = addressesOf(fields.get(header));
    if (list) envelope[key] = list;
  }
  const messageId = fields.get('message-id');
  if (messageId) envelope.messageId = messageId;
  const inReplyTo = fields.get('in-reply-to');
  if (inReplyTo) envelope.inReplyTo = inReplyTo;
  return envelope;
}
