import addressparser from 'nodemailer/lib/addressparser';

/** Header fields of a raw RFC 5322 message (unfolded), and where the header block ends. */
export interface RawHeaders {
  fields: Array<{ name: string; value: string }>;
  /** Byte offset of the body (after the blank line); the length of the message when there is none. */
  bodyOffset: number;
  /** The line break the message uses. */
  eol: '\r\n' | '\n';
}

export function parseRawHeaders(raw: Buffer): RawHeaders {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  let end: number;
  let eol: '\r\n' | '\n';
  if (crlf >= 0 && (lf < 0 || crlf <= lf)) {
    end = crlf;
    eol = '\r\n';
  } else if (lf >= 0) {
    end = lf;
    eol = '\n';
  } else {
    end = raw.length;
    eol = raw.includes('\r\n') ? '\r\n' : '\n';
  }
  const bodyOffset = Math.min(raw.length, end + eol.length * 2);
  const text = raw.subarray(0, end).toString('latin1');
  const fields: RawHeaders['fields'] = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length) {
      fields[fields.length - 1].value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return { fields, bodyOffset, eol };
}

export function headerValues(headers: RawHeaders, name: string): string[] {
  const lower = name.toLowerCase();
  return headers.fields.filter((f) => f.name.toLowerCase() === lower).map((f) => f.value);
}

/** Every address in the named address headers (groups flattened). */
export function headerAddresses(headers: RawHeaders, name: string): string[] {
  const out: string[] = [];
  for (const value of headerValues(headers, name)) {
    for (const entry of addressparser(value, { flatten: true })) if (entry.address) out.push(entry.address);
  }
  return out;
}

/**
 * The message with its Message-ID header replaced (or added) and everything else byte for byte as
 * it was: what SES does before it delivers.
 */
export function replaceMessageId(raw: Buffer, messageId: string): Buffer {
  const { bodyOffset, eol } = parseRawHeaders(raw);
  const headerEnd = Math.max(0, bodyOffset - eol.length * 2);
  const head = raw.subarray(0, headerEnd).toString('latin1');
  const lines = head.split(eol);
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    if (skipping && /^[ \t]/.test(line)) continue;
    skipping = /^message-id\s*:/i.test(line);
    if (!skipping) kept.push(line);
  }
  const newHead = [`Message-ID: ${messageId}`, ...kept.filter((l, i) => l !== '' || i < kept.length - 1)].join(eol);
  return Buffer.concat([Buffer.from(newHead, 'latin1'), raw.subarray(headerEnd)]);
}
