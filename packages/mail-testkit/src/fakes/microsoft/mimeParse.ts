/**
 * A small RFC 5322 / MIME reader for the fake's "send as MIME" endpoints: enough for what mail
 * clients (nodemailer among them) produce — folded headers, RFC 2047 words, RFC 2231 parameters,
 * nested multiparts, base64 and quoted-printable.
 */

export interface MimeAddress {
  name: string;
  address: string;
}

export interface MimeAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  contentId?: string;
  inline: boolean;
}

export interface ParsedMime {
  headers: Array<{ name: string; value: string }>;
  header(name: string): string | undefined;
  from?: MimeAddress;
  sender?: MimeAddress;
  to: MimeAddress[];
  cc: MimeAddress[];
  bcc: MimeAddress[];
  replyTo: MimeAddress[];
  subject: string;
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  date?: Date;
  text?: string;
  html?: string;
  attachments: MimeAttachment[];
}

interface Part {
  headers: Array<{ name: string; value: string }>;
  body: Buffer;
}

function splitHead(raw: Buffer): Part {
  let end = raw.indexOf('\r\n\r\n');
  let sep = 4;
  const lf = raw.indexOf('\n\n');
  if (end < 0 || (lf >= 0 && lf < end)) {
    end = lf;
    sep = 2;
  }
  const head = end < 0 ? raw.toString('latin1') : raw.subarray(0, end).toString('latin1');
  const body = end < 0 ? Buffer.alloc(0) : raw.subarray(end + sep);
  const headers: Array<{ name: string; value: string }> = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && headers.length) {
      headers[headers.length - 1].value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  // header bytes may be raw UTF-8 (RFC 6532)
  for (const h of headers) h.value = Buffer.from(h.value, 'latin1').toString('utf8');
  return { headers, body };
}

function headerOf(part: Part, name: string): string | undefined {
  const lower = name.toLowerCase();
  return part.headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

function decodeCharset(bytes: Buffer, charset = 'utf-8'): string {
  try {
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

function decodeQuotedPrintable(text: string, underscoreIsSpace: boolean): Buffer {
  const input = underscoreIsSpace ? text.replace(/_/g, ' ') : text.replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(input.slice(i + 1, i + 3))) {
      out.push(parseInt(input.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(out);
}

/** RFC 2047 encoded words: `=?utf-8?B?...?=`, `=?iso-8859-1?Q?...?=`. */
export function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?[^?]+\?[BbQq]\?[^?]*\?=)/g, '$1')
    .replace(/=\?([^?*]+)(?:\*[^?]*)?\?([BbQq])\?([^?]*)\?=/g, (_m, charset: string, enc: string, data: string) => {
      const bytes = enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : decodeQuotedPrintable(data, true);
      return decodeCharset(bytes, charset);
    });
}

/** `type/subtype; a=b; c*=utf-8''x` → value and parameters (RFC 2231 continuations joined). */
export function parseStructured(value: string | undefined): { value: string; params: Record<string, string> } {
  if (!value) return { value: '', params: {} };
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"' && value[i - 1] !== '\\') quoted = !quoted;
    if (ch === ';' && !quoted) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  const raw: Record<string, { value: string; extended: boolean }[]> = {};
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    let key = p.slice(0, eq).trim().toLowerCase();
    let val = p.slice(eq + 1).trim();
    if (val.startsWith('"') && val.endsWith('"')) val = val.slice(1, -1).replace(/\\(.)/g, '$1');
    const m = /^([^*]+)(?:\*(\d+))?(\*)?$/.exec(key);
    if (!m) continue;
    key = m[1];
    const index = m[2] ? Number(m[2]) : 0;
    (raw[key] ??= [])[index] = { value: val, extended: !!m[3] };
  }
  const params: Record<string, string> = {};
  for (const [key, pieces] of Object.entries(raw)) {
    let charset: string | undefined;
    const joined = pieces
      .filter(Boolean)
      .map((piece, i) => {
        if (!piece.extended) return piece.value;
        let v = piece.value;
        if (i === 0) {
          const m = /^([^']*)'[^']*'(.*)$/.exec(v);
          if (m) {
            charset = m[1] || 'utf-8';
            v = m[2];
          }
        }
        return v.replace(/%([0-9A-Fa-f]{2})/g, (_x, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      })
      .join('');
    params[key] = charset ? decodeCharset(Buffer.from(joined, 'latin1'), charset) : decodeWords(joined);
  }
  return { value: parts[0].trim().toLowerCase(), params };
}

/** `"Anna Berger" <anna@x>, bob@y, =?utf-8?B?...?= <c@z>` → addresses (groups flattened). */
export function parseAddressList(value: string | undefined): MimeAddress[] {
  if (!value) return [];
  const out: MimeAddress[] = [];
  const items: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"' && value[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && ch === '<') angle = true;
    else if (!quoted && ch === '>') angle = false;
    if ((ch === ',' || ch === ';') && !quoted && !angle) {
      items.push(current);
      current = '';
    } else current += ch;
  }
  items.push(current);
  for (let item of items) {
    item = item.trim();
    // "team: a@x, b@y;" and "undisclosed-recipients:;" — drop the group name
    const group = /^[^"<@:]*:(.*)$/.exec(item);
    if (group) item = group[1].trim();
    if (!item) continue;
    const m = /^(.*)<([^>]*)>\s*$/.exec(item);
    if (m) {
      let name = m[1].trim();
      if (name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/\\(.)/g, '$1');
      out.push({ name: decodeWords(name), address: m[2].trim() });
    } else if (item.includes('@')) {
      out.push({ name: '', address: item.replace(/\(.*\)/, '').trim() });
    }
  }
  return out;
}

function decodeBody(part: Part): Buffer {
  const cte = (headerOf(part, 'Content-Transfer-Encoding') ?? '7bit').trim().toLowerCase();
  if (cte === 'base64') return Buffer.from(part.body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (cte === 'quoted-printable') return decodeQuotedPrintable(part.body.toString('latin1'), false);
  return part.body;
}

function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  const parts: Buffer[] = [];
  let pos = text.indexOf(delimiter);
  while (pos >= 0) {
    const lineEnd = text.indexOf('\n', pos);
    if (text.startsWith(`${delimiter}--`, pos) || lineEnd < 0) break;
    let next = text.indexOf(`\n${delimiter}`, lineEnd);
    if (next < 0) next = text.length;
    let chunkEnd = next;
    if (text[chunkEnd - 1] === '\r') chunkEnd--;
    parts.push(Buffer.from(text.slice(lineEnd + 1, chunkEnd), 'latin1'));
    pos = next < text.length ? next + 1 : -1;
  }
  return parts;
}

function walk(part: Part, into: ParsedMime): void {
  const type = parseStructured(headerOf(part, 'Content-Type') ?? 'text/plain; charset=us-ascii');
  const disposition = parseStructured(headerOf(part, 'Content-Disposition'));
  if (type.value.startsWith('multipart/') && type.params.boundary) {
    for (const raw of splitMultipart(part.body, type.params.boundary)) walk(splitHead(raw), into);
    return;
  }
  const filename = disposition.params.filename ?? type.params.name;
  const isText = type.value === 'text/plain' || type.value === 'text/html';
  if (isText && disposition.value !== 'attachment' && !filename) {
    const text = decodeCharset(decodeBody(part), type.params.charset);
    if (type.value === 'text/html' && into.html === undefined) into.html = text;
    else if (type.value === 'text/plain' && into.text === undefined) into.text = text;
    return;
  }
  const contentId = headerOf(part, 'Content-ID')?.replace(/^<|>$/g, '');
  into.attachments.push({
    filename: filename ?? (type.value === 'message/rfc822' ? 'message.eml' : 'attachment'),
    contentType: type.value || 'application/octet-stream',
    content: decodeBody(part),
    contentId,
    inline: disposition.value === 'inline' || (!!contentId && disposition.value !== 'attachment'),
  });
}

const ids = (value: string | undefined): string[] => (value ? value.match(/<[^<>\s]+>/g) ?? [] : []);

export function parseMime(raw: Buffer): ParsedMime {
  const root = splitHead(raw);
  const get = (name: string) => headerOf(root, name);
  const date = get('Date') ? new Date(get('Date') as string) : undefined;
  const parsed: ParsedMime = {
    headers: root.headers,
    header: get,
    from: parseAddressList(get('From'))[0],
    sender: parseAddressList(get('Sender'))[0],
    to: parseAddressList(get('To')),
    cc: parseAddressList(get('Cc')),
    bcc: parseAddressList(get('Bcc')),
    replyTo: parseAddressList(get('Reply-To')),
    subject: decodeWords(get('Subject') ?? ''),
    messageId: ids(get('Message-ID'))[0],
    inReplyTo: ids(get('In-Reply-To'))[0],
    references: ids(get('References')),
    date: date && !Number.isNaN(date.getTime()) ? date : undefined,
    attachments: [],
  };
  walk(root, parsed);
  return parsed;
}
