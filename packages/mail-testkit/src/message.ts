export interface TestAttachment {
  filename: string;
  content: Buffer;
  contentType?: string;
}

export interface MakeMessageOptions {
  /** header value, e.g. 'Bob <bob@example.test>'; default `Sender <n> <sender<n>@example.test>` with n = i % 10 */
  from?: string;
  /** header value; default 'alice@example.test' */
  to?: string;
  /** default `Test message <i>`; non-ASCII is encoded (RFC 2047) */
  subject?: string;
  /** default 2024-01-01T00:00:00Z plus i minutes */
  date?: Date;
  /** exact size of the text/plain body in bytes; default 256 */
  bodyBytes?: number;
  /** with or without angle brackets; default `<test-<i>@mailbridge.test>` */
  messageId?: string;
  /** Message-ID of the parent; sets In-Reply-To and References */
  inReplyTo?: string;
  attachments?: TestAttachment[];
}

const CRLF = '\r\n';
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliett', 'kilo', 'lima'];

/**
 * A deterministic RFC 5322 message (CRLF line ends): the same i and options always give the same bytes.
 * text/plain only, or multipart/mixed with base64 attachments.
 */
export function makeMessage(i: number, opts: MakeMessageOptions = {}): Buffer {
  const date = opts.date ?? new Date(Date.UTC(2024, 0, 1) + i * 60_000);
  const headers: string[] = [
    `From: ${encodeAddressHeader(opts.from ?? `Sender ${i % 10} <sender${i % 10}@example.test>`)}`,
    `To: ${encodeAddressHeader(opts.to ?? 'alice@example.test')}`,
    `Subject: ${encodeText(opts.subject ?? `Test message ${i}`)}`,
    `Date: ${formatDate(date)}`,
    `Message-ID: ${angle(opts.messageId ?? `test-${i}@mailbridge.test`)}`,
  ];
  if (opts.inReplyTo) headers.push(`In-Reply-To: ${angle(opts.inReplyTo)}`, `References: ${angle(opts.inReplyTo)}`);
  headers.push('MIME-Version: 1.0');

  const body = textBody(i, opts.bodyBytes ?? 256);
  const attachments = opts.attachments ?? [];
  if (attachments.length === 0) {
    headers.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit');
    return Buffer.from(headers.join(CRLF) + CRLF + CRLF + body, 'utf8');
  }

  const boundary = `----=_mailbridge_${i}`;
  headers.push(`Content-Type: multipart/mixed; boundary="${boundary}"`);
  const parts = [
    ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit', '', body].join(CRLF),
    ...attachments.map((a) =>
      [
        `Content-Type: ${a.contentType ?? 'application/octet-stream'}; name=${quoteParam(a.filename)}`,
        `Content-Disposition: attachment; ${filenameParam(a.filename)}`,
        'Content-Transfer-Encoding: base64',
        '',
        base64Lines(a.content),
      ].join(CRLF),
    ),
  ];
  const mime =
    'This is a multi-part message in MIME format.' + CRLF +
    parts.map((p) => `--${boundary}${CRLF}${p}${p.endsWith(CRLF) ? '' : CRLF}`).join('') +
    `--${boundary}--${CRLF}`;
  return Buffer.from(headers.join(CRLF) + CRLF + CRLF + mime, 'utf8');
}

/** ASCII text of exactly `bytes` bytes, ending in CRLF when there is room for it. */
function textBody(i: number, bytes: number): string {
  const size = Math.max(0, Math.floor(bytes));
  const lines: string[] = [`This is test message ${i}.`];
  let length = lines[0].length + 2;
  for (let n = 1; length < size; n++) {
    let line = `Line ${n}:`;
    for (let w = 0; line.length < 70; w++) line += ' ' + WORDS[(i + n * 7 + w * 3) % WORDS.length];
    lines.push(line);
    length += line.length + 2;
  }
  let text = (lines.join(CRLF) + CRLF).slice(0, size);
  if (size >= 2 && !text.endsWith(CRLF)) text = text.slice(0, size - 2) + CRLF;
  return text;
}

function angle(id: string): string {
  const bare = id.trim().replace(/^<|>$/g, '');
  return `<${bare}>`;
}

function formatDate(d: Date): string {
  // toUTCString: "Mon, 01 Jan 2024 00:00:00 GMT"
  return d.toUTCString().replace(/GMT$/, '+0000');
}

const isAscii = (s: string) => /^[\x20-\x7e]*$/.test(s);

/** RFC 2047 B-encoding in words of at most 45 UTF-8 bytes, folded onto continuation lines. */
function encodeText(text: string): string {
  if (isAscii(text)) return text;
  const words: string[] = [];
  let chunk = '';
  for (const ch of text) {
    if (Buffer.byteLength(chunk + ch, 'utf8') > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join(CRLF + ' ');
}

function encodeAddressHeader(value: string): string {
  if (isAscii(value)) return value;
  const match = /^\s*"?(.*?)"?\s*<([^<>]+)>\s*$/.exec(value);
  if (!match) return encodeText(value);
  return `${encodeText(match[1])} <${match[2]}>`;
}

function quoteParam(value: string): string {
  if (isAscii(value)) return `"${value.replace(/(["\\])/g, '\\$1')}"`;
  return `"${encodeText(value)}"`;
}

/** filename="ascii" or RFC 2231 filename*=UTF-8''percent-encoded */
function filenameParam(filename: string): string {
  if (isAscii(filename)) return `filename=${quoteParam(filename)}`;
  const encoded = Array.from(Buffer.from(filename, 'utf8'))
    .map((b) => (/[A-Za-z0-9.\-_~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0')))
    .join('');
  return `filename*=UTF-8''${encoded}`;
}

function base64Lines(content: Buffer): string {
  const b64 = content.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join(CRLF) + CRLF;
}
