import type { OutgoingMessage } from '@mailbridge/mail-core';

// How an outgoing mail is kept in the outbox row: JSON, attachments as base64, so a queued mail survives a
// restart unchanged and a retry sends exactly the same bytes.
export interface StoredAttachment {
  filename: string;
  contentType?: string;
  cid?: string;
  /** Absent once the mail is sent and the file kept elsewhere (attachments/outboxAttachments.ts); then its size. */
  contentBase64?: string;
  size?: number;
}

export type StoredOutgoingMessage = Omit<OutgoingMessage, 'attachments' | 'date'> & { attachments?: StoredAttachment[] };

export function toOutgoing(stored: StoredOutgoingMessage): OutgoingMessage {
  return {
    ...stored,
    attachments: (stored.attachments ?? []).map((a) => {
      if (a.contentBase64 === undefined) throw new Error(`The file "${a.filename}" of this sent mail is no longer in the outbox.`);
      return { filename: a.filename, contentType: a.contentType, cid: a.cid, content: Buffer.from(a.contentBase64, 'base64') };
    }),
  };
}
