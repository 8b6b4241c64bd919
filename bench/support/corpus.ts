import { makeMessage, seededRandom } from '@mailbridge/mail-testkit';

// A deterministic mailbox that looks like real mail: bodies of 2–20 KB, half of them text+html
// (multipart/alternative), one in ten with a 100 KB attachment, one in three a reply to an earlier mail (threads),
// some non-ASCII subjects.
const CRLF = '\r\n';

export type MailKind = 'text' | 'alternative' | 'attachment';

export function kindOf(i: number): MailKind {
  if (i % 10 === 9) return 'attachment';
  return i % 2 === 0 ? 'alternative' : 'text';
}

function parentOf(i: number): string | undefined {
  if (i < 3 || i % 3 !== 1) return undefined;
  return `test-${i - 1 - (i % 5)}@mailbridge.test`;
}

function subjectOf(i: number): string {
  return i % 4 === 0 ? `Angebot Nr. ${i} – Überprüfung der Unterlagen` : `Test message ${i}`;
}

function bodyOf(i: number, bytes: number): string {
  const raw = makeMessage(i, { bodyBytes: bytes }).toString('utf8');
  return raw.slice(raw.indexOf(CRLF + CRLF) + 4);
}

function attachmentBytes(i: number, size: number): Buffer {
  const r = seededRandom(i * 7919 + 1);
  const buf = Buffer.alloc(size);
  for (let k = 0; k < size; k += 4) buf.writeUInt32LE((r() * 4294967296) >>> 0, Math.min(k, size - 4));
  return buf;
}

/** Mail number i of the bench mailbox (same i, same bytes). */
export function benchMail(i: number, opts: { attachmentBytes?: number } = {}): Buffer {
  const r = seededRandom(i + 1);
  const size = 2048 + Math.floor(r() * (20 * 1024 - 2048));
  const kind = kindOf(i);
  const inReplyTo = parentOf(i);
  const subject = subjectOf(i);
  if (kind === 'text') return makeMessage(i, { bodyBytes: size, subject, inReplyTo });
  if (kind === 'attachment') {
    return makeMessage(i, {
      bodyBytes: size,
      subject,
      inReplyTo,
      attachments: [{ filename: `Bericht-${i}.pdf`, contentType: 'application/pdf', content: attachmentBytes(i, opts.attachmentBytes ?? 100 * 1024) }],
    });
  }
  // multipart/alternative: the testkit's headers, a text part and an html rendering of it
  const textBytes = Math.floor(size * 0.45);
  const text = bodyOf(i, textBytes);
  const html =
    '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="font-family:Arial,sans-serif">' +
    text
      .split(CRLF)
      .filter(Boolean)
      .map((line) => `<p>${line.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</p>`)
      .join(CRLF) +
    '</body></html>' + CRLF;
  const head = makeMessage(i, { bodyBytes: 0, subject, inReplyTo }).toString('utf8');
  const headers = head
    .slice(0, head.indexOf(CRLF + CRLF))
    .split(CRLF)
    .filter((h) => !/^Content-(Type|Transfer-Encoding):/i.test(h));
  const boundary = `----=_alt_${i}`;
  headers.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
  const body =
    `--${boundary}${CRLF}Content-Type: text/plain; charset=utf-8${CRLF}Content-Transfer-Encoding: 7bit${CRLF}${CRLF}${text}${CRLF}` +
    `--${boundary}${CRLF}Content-Type: text/html; charset=utf-8${CRLF}Content-Transfer-Encoding: 7bit${CRLF}${CRLF}${html}${CRLF}` +
    `--${boundary}--${CRLF}`;
  return Buffer.from(headers.join(CRLF) + CRLF + CRLF + body, 'utf8');
}

export function benchMailbox(n: number, opts: { attachmentBytes?: number } = {}) {
  const mails: Buffer[] = [];
  const kinds = { text: 0, alternative: 0, attachment: 0 } as Record<MailKind, number>;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const m = benchMail(i, opts);
    mails.push(m);
    kinds[kindOf(i)]++;
    bytes += m.length;
  }
  const replies = Array.from({ length: n }, (_, i) => parentOf(i)).filter(Boolean).length;
  return { mails, kinds, bytes, replies };
}
