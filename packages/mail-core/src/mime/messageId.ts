import { randomUUID } from 'node:crypto';
import type { OutgoingMessage } from '../types';

/** The domain a generated Message-ID ends in: the sending mailbox's domain. */
export function senderDomain(msg: Pick<OutgoingMessage, 'from' | 'sender'>): string {
  const address = (msg.sender ?? msg.from).address;
  const at = address.lastIndexOf('@');
  const domain = at >= 0 ? address.slice(at + 1).trim().toLowerCase() : '';
  return domain || 'localhost';
}

export function generateMessageId(msg: Pick<OutgoingMessage, 'from' | 'sender'>): string {
  return `<${randomUUID()}@${senderDomain(msg)}>`;
}

/** `id@host` and `<id@host>` both become `<id@host>`. */
export function normalizeMessageId(id: string): string {
  const trimmed = id.trim();
  return trimmed.startsWith('<') ? trimmed : `<${trimmed}>`;
}

/** The message id of `msg`, generated when absent, so it is known before sending. */
export function ensureMessageId(msg: OutgoingMessage): string {
  return msg.messageId ? normalizeMessageId(msg.messageId) : generateMessageId(msg);
}
