import type { OutgoingMessage } from '@mailbridge/mail-core';

// How an outgoing mail is kept in the outbox row: JSON, attachments as base64, so a queued mail survives a
// restart unchanged and a retry sends exactly the same bytes.
export interface StoredAttachment {
  filename: string;
  contentType?: string;
  cid?: string;
  contentBase64: string;
}

export type StoredOutgoingMessage = Omit<OutgoingMessage, 'attachments' | 'date'> & { attachments?: StoredAttachment[] };

export function toOutgoing(stored: StoredOutgoingMessage): OutgoingMessage {
  return {
    ...stored,
    attachments: (stored.attachments ?? []).map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      cid: a.cid,
      content: Buffer.from(a.contentBase64, 'base64'),
    })),
  };
}
