import MailComposer from 'nodemailer/lib/mail-composer';
import type { OutgoingMessage } from '../types';
import { assertSafeHeaders } from './assertSafeHeaders';
import { composeOptions, envelopeOf, type Envelope } from './composeOptions';
import { ensureMessageId } from './messageId';

export interface BuiltMime {
  raw: Buffer;
  /** `<…@…>`, as in the Message-ID header. */
  messageId: string;
  /** Who to deliver to: Bcc recipients are here even when they are not in the headers. */
  envelope: Envelope;
}

export interface BuildMimeOptions {
  /** Keep the Bcc header (for the copy in the Sent folder); off for what goes over the wire. */
  keepBcc?: boolean;
}

/**
 * Builds the RFC 5322 message, for providers that send raw MIME (SES, Graph MIME send) and for the
 * copy appended to the Sent folder. Stream attachments are read to the end.
 */
export async function buildMime(msg: OutgoingMessage, opts: BuildMimeOptions = {}): Promise<BuiltMime> {
  assertSafeHeaders(msg);
  const messageId = ensureMessageId(msg);
  const node = new MailComposer(composeOptions(msg, messageId)).compile();
  node.keepBcc = !!opts.keepBcc;
  const raw = await node.build();
  return { raw, messageId, envelope: envelopeOf(msg) };
}
