import type { Readable } from 'node:stream';
import type { MailService } from '../mailService';
import { mailErrorText } from '../mailErrorText';
import { AttachmentReader, StoredAttachment, usableAttachmentOr404 } from '../attachments/storedAttachment';

const NS = '@mailbridge/plugin-mail';
/** What a forward may carry along from stored mail, decoded; most servers refuse larger mail anyway. */
export const MAX_FORWARDED_BYTES = 25 * 1024 * 1024;

interface Reference {
  mailAttachmentId: string | number;
}

const isReference = (item: unknown): item is Reference =>
  Boolean(item && typeof item === 'object' && (item as Reference).mailAttachmentId != null && (item as Reference).mailAttachmentId !== '');

class TooLarge extends Error {}

async function readAtMost(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > limit) {
      stream.destroy();
      throw new TooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * A send request's attachments, each `{ mailAttachmentId }` replaced by that stored attachment's file, read from
 * where it is kept (its mailbox, the file manager or the outbox): a forward carries the original's files. The
 * signed-in user must be allowed to use the account the original belongs to (else 404); a file that cannot be read
 * refuses the send before anything is queued.
 */
export async function withForwardedAttachments(ctx: any, mail: MailService, attachments: unknown): Promise<unknown> {
  if (!Array.isArray(attachments) || !attachments.some(isReference)) return attachments;
  const reader = new AttachmentReader(mail, ctx.app);
  try {
    return await readForwarded(ctx, reader, attachments);
  } finally {
    await reader.close();
  }
}

async function readForwarded(ctx: any, reader: AttachmentReader, attachments: unknown[]): Promise<unknown[]> {
  let budget = MAX_FORWARDED_BYTES;
  const out: unknown[] = [];
  for (const item of attachments) {
    if (!isReference(item)) {
      out.push(item);
      continue;
    }
    const { filename, contentType, content } = await readStored(ctx, reader, await usableAttachmentOr404(ctx, item.mailAttachmentId), budget);
    budget -= content.length;
    out.push({ filename, contentType, contentBase64: content.toString('base64') });
  }
  return out;
}

/** One stored file, whole, of at most `budget` bytes: 413 beyond that, 502 with the reason when it cannot be read. */
async function readStored(ctx: any, reader: AttachmentReader, stored: StoredAttachment, budget: number): Promise<{ filename: string; contentType: string; content: Buffer }> {
  try {
    const file = await reader.open(stored);
    return { filename: file.filename, contentType: file.contentType, content: await readAtMost(file.stream, budget) };
  } catch (err: any) {
    if (err instanceof TooLarge) {
      ctx.throw(413, ctx.t('The forwarded attachments are larger than {{size}} MB together. Remove some of them.', { ns: NS, size: MAX_FORWARDED_BYTES / 1024 / 1024 }));
    }
    const filename = stored.attachment.get('filename') || 'attachment';
    return ctx.throw(502, ctx.t('"{{filename}}" of the forwarded mail could not be read: {{error}}', { ns: NS, filename, error: mailErrorText(err), interpolation: { escapeValue: false } }));
  }
}
