import type { Readable } from 'stream';

// A forwarded mail is filed under the person who wrote the original: the sender named in an inline forward block
// ("---------- Forwarded message ---------", "-----Original Message-----", Outlook's "From: … Sent: …") or in the
// headers of a message/rfc822 attachment.

export interface OriginalSender {
  address: string;
  name?: string;
}

// "Forwarded message" blocks are forwards whatever the subject says; "Original Message" blocks and Outlook's rule
// also introduce quoted replies, so they count only when the subject says the mail is a forward.
const FORWARD_MARKER =
  /^[ \t>]*(?:-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht)\s*-{2,}|begin forwarded message:|anfang der weitergeleiteten nachricht:)\s*$/im;
const QUOTE_MARKER =
  /^[ \t>]*(?:-{2,}\s*(?:original message|urspr(?:ü|ue)ngliche nachricht|message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht)\s*-{2,}|_{10,})\s*$/im;
const FORWARD_SUBJECT = /^\s*(?:\[[^\]]*\]\s*)?(?:fwd?|wg|tr|rv|vs)\s*:/i;
const FROM_LINE = /^[ \t>]*\*?(?:from|von|de|da|van|från|fra)\*?\s*:\s*(.+)$/im;
const ADDRESS = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/;

/** Parses `Name <a@b>`, `"Name" <a@b>`, `Name [mailto:a@b]`, `a@b`. */
export function parseAddressText(value: string): OriginalSender | undefined {
  const address = ADDRESS.exec(value)?.[0];
  if (!address) return undefined;
  const name = value
    .replace(/<[^>]*>|\[mailto:[^\]]*\]|\(mailto:[^)]*\)/gi, '')
    .replace(ADDRESS, '')
    .replace(/["'*]/g, '')
    .trim();
  return name ? { address: address.toLowerCase(), name } : { address: address.toLowerCase() };
}

/** The original sender of an inline forward in a plain-text body, if there is one. */
export function inlineForwardSender(
  text: string | null | undefined,
  subject?: string | null,
): OriginalSender | undefined {
  if (!text) return undefined;
  const head = text.length > 200_000 ? text.slice(0, 200_000) : text;
  const marker = FORWARD_MARKER.exec(head) ?? (isForwardSubject(subject) ? QUOTE_MARKER.exec(head) : null);
  if (!marker) return undefined;
  const block = head
    .slice(marker.index + marker[0].length)
    .split('\n')
    .slice(0, 12)
    .join('\n');
  const from = FROM_LINE.exec(block);
  return from ? parseAddressText(from[1]) : undefined;
}

export function isForwardSubject(subject: string | null | undefined): boolean {
  return FORWARD_SUBJECT.test(subject ?? '');
}

/** The From: of a raw RFC 822 header block. */
export function rfc822Sender(raw: string): OriginalSender | undefined {
  const end = raw.search(/\r?\n\r?\n/);
  const headers = (end >= 0 ? raw.slice(0, end) : raw).replace(/\r?\n[ \t]+/g, ' ');
  const from = /^from:[ \t]*(.*)$/im.exec(headers)?.[1];
  return from ? parseAddressText(decodeEncodedWords(from)) : undefined;
}

function decodeEncodedWords(value: string): string {
  return value.replace(/=\?([^?]+)\?([bq])\?([^?]*)\?=/gi, (_all, _charset: string, enc: string, text: string) => {
    try {
      return enc.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : text
            .replace(/_/g, ' ')
            .replace(/=([0-9a-f]{2})/gi, (_m: string, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    } catch {
      return text;
    }
  });
}

/** Reads at most `limit` bytes of a stream, then lets it go. */
export async function readHead(stream: Readable, limit = 64 * 1024, timeoutMs = 15_000): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => stream.destroy(new Error('attachment download timed out')), timeoutMs);
  try {
    for await (const chunk of stream) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      chunks.push(buf);
      size += buf.length;
      if (size >= limit) break;
    }
  } finally {
    clearTimeout(timer);
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
