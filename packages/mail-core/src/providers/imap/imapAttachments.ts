import { PassThrough, Readable } from 'node:stream';
import type { ImapFlow } from 'imapflow';
import { MailError, toMailError, type MailErrorContext } from '../../errors';
import type { DownloadedAttachment } from '../../types';
import { attachmentByFullParseId, FULL_PARSE_PREFIX, parseSource } from './imapFullParse';
import { fetchSourceOf } from './imapCommands';

function notFound(folder: string, uid: string, partId: string): MailError {
  return new MailError('PROVIDER_ERROR', `Attachment ${partId} of message ${uid} in "${folder}" was not found.`, {
    retryable: false,
    hint: 'The message may have been moved or deleted on the server. Sync the folder and try again.',
  });
}

/** An attachment of a message the fast path could not read: parse the source again. */
async function downloadFromFullParse(client: ImapFlow, folder: string, uid: string, partId: string): Promise<DownloadedAttachment> {
  const fetched = await fetchSourceOf(client, Number(uid));
  if (!fetched || !fetched.source) throw notFound(folder, uid, partId);
  const attachment = attachmentByFullParseId(await parseSource(fetched.source), partId);
  if (!attachment) throw notFound(folder, uid, partId);
  return {
    stream: Readable.from([attachment.content]),
    contentType: attachment.contentType || 'application/octet-stream',
    ...(attachment.filename ? { filename: attachment.filename } : {}),
  };
}

/**
 * Streams one body part, transfer encoding removed, bytes otherwise untouched. The folder stays
 * locked until the stream ends or is destroyed: read it to the end or destroy it.
 */
export async function downloadAttachmentPart(client: ImapFlow, folder: string, uid: string, partId: string, context: MailErrorContext): Promise<DownloadedAttachment> {
  if (!/^\d+$/.test(uid)) throw notFound(folder, uid, partId);
  const lock = await client.getMailboxLock(folder, { readOnly: true });
  let released = false;
  const release = () => {
    if (!released) {
      released = true;
      lock.release();
    }
  };
  try {
    if (partId.startsWith(FULL_PARSE_PREFIX)) {
      const result = await downloadFromFullParse(client, folder, uid, partId);
      release();
      return result;
    }
    if (!/^\d+(\.\d+)*$/.test(partId)) throw notFound(folder, uid, partId);
    const download = await client.download(uid, partId, { uid: true, decodeText: false });
    if (!download.content) throw notFound(folder, uid, partId);
    const out = new PassThrough();
    download.content.on('error', (err: Error) => {
      release();
      out.destroy(toMailError(err, { ...context, operation: 'download', folder }));
    });
    download.content.on('end', release);
    out.on('close', () => {
      if (!download.content.readableEnded) download.content.destroy();
      release();
    });
    download.content.pipe(out);
    return {
      stream: out,
      contentType: download.meta.contentType || 'application/octet-stream',
      ...(download.meta.filename ? { filename: download.meta.filename } : {}),
    };
  } catch (err) {
    release();
    throw err;
  }
}
