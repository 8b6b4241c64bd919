import { MailError } from '../errors';
import type { Address, OutgoingMessage } from '../types';

const LINE_BREAK = /[\r\n\u0000]/;
/** RFC 5322 field name: printable US-ASCII except colon. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

function reject(field: string): never {
  throw new MailError('INVALID_HEADER', `The ${field} contains a line break or an invalid character; the message was not sent.`, {
    hint: `Remove the line break from the ${field} and send again.`,
  });
}

function checkText(field: string, value: string | undefined): void {
  if (value !== undefined && LINE_BREAK.test(value)) reject(field);
}

function checkAddress(field: string, addr: Address | undefined): void {
  if (!addr) return;
  checkText(`${field} name`, addr.name);
  if (typeof addr.address !== 'string' || LINE_BREAK.test(addr.address) || /[\s<>]/.test(addr.address.trim())) {
    reject(`${field} address`);
  }
}

/**
 * Refuses a message whose header material could inject headers (CR/LF) before anything is sent.
 * Throws MailError INVALID_HEADER.
 */
export function assertSafeHeaders(msg: OutgoingMessage): void {
  checkAddress('sender (From)', msg.from);
  checkAddress('sender (Sender)', msg.sender);
  for (const [field, list] of [
    ['recipient (To)', msg.to],
    ['recipient (Cc)', msg.cc],
    ['recipient (Bcc)', msg.bcc],
    ['reply-to', msg.replyTo],
  ] as const) {
    for (const addr of list ?? []) checkAddress(field, addr);
  }
  checkText('subject', msg.subject);
  checkText('Message-ID', msg.messageId);
  checkText('In-Reply-To', msg.inReplyTo);
  for (const ref of msg.references ?? []) checkText('References', ref);
  for (const [key, value] of Object.entries(msg.headers ?? {})) {
    if (!FIELD_NAME.test(key)) reject(`header name "${key.replace(LINE_BREAK, ' ')}"`);
    checkText(`header ${key}`, String(value));
  }
  for (const att of msg.attachments ?? []) {
    checkText('attachment file name', att.filename);
    checkText('attachment content type', att.contentType);
    checkText('attachment content id', att.cid);
  }
}
