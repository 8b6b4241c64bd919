import type { MailComposerOptions } from 'nodemailer/lib/mail-composer';
import type { Address, OutgoingMessage } from '../types';
import { ensureMessageId, normalizeMessageId } from './messageId';

export type Envelope = {
  from: string;
  to: string[];
};

const toMime = (a: Address) => ({ name: a.name ?? '', address: a.address.trim() });
const list = (addrs?: Address[]) => (addrs && addrs.length ? addrs.map(toMime) : undefined);

/** MAIL FROM is the mailbox that really sends; RCPT TO every To, Cc and Bcc, once each. */
export function envelopeOf(msg: OutgoingMessage): Envelope {
  const to = [...msg.to, ...(msg.cc ?? []), ...(msg.bcc ?? [])].map((a) => a.address.trim());
  return { from: (msg.sender ?? msg.from).address.trim(), to: [...new Set(to)] };
}

/**
 * The message as nodemailer's MailComposer (and sendMail) take it. Headers that we set ourselves win
 * over same-named custom headers.
 */
export function composeOptions(msg: OutgoingMessage, messageId = ensureMessageId(msg)): MailComposerOptions & { messageId: string } {
  return {
    from: toMime(msg.from),
    sender: msg.sender ? toMime(msg.sender) : undefined,
    to: list(msg.to),
    cc: list(msg.cc),
    bcc: list(msg.bcc),
    replyTo: list(msg.replyTo),
    subject: msg.subject,
    text: msg.text,
    html: msg.html,
    messageId,
    date: msg.date,
    inReplyTo: msg.inReplyTo ? normalizeMessageId(msg.inReplyTo) : undefined,
    references: msg.references && msg.references.length ? msg.references.map(normalizeMessageId) : undefined,
    headers: msg.headers ? { ...msg.headers } : undefined,
    attachments: (msg.attachments ?? []).map((att) => ({
      filename: att.filename,
      contentType: att.contentType,
      content: att.content,
      ...(att.cid ? { cid: att.cid, contentDisposition: 'inline' } : {}),
    })),
    envelope: { ...envelopeOf(msg) },
    // never read a path or URL given as content: content is data, not a pointer
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}
