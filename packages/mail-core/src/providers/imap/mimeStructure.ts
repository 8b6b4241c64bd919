/**
 * The MIME structure of a whole message source, in the shape IMAP BODYSTRUCTURE has (part ids,
 * types, parameters, encodings, sizes), plus where each leaf's body lies in the source. It lets
 * the sync read small messages from one FETCH of their source, with the same plan and decoding
 * as for messages read part by part.
 *
 * It splits; it does not repair. Anything unusual (no boundary, no closing delimiter, no parts,
 * very deep nesting) throws, and the caller reads that message the way the server structures it.
 */
import type { MessageStructureObject } from 'imapflow';
import libmime from 'libmime';
import { parseHeaderBlock } from './imapParse';

const MAX_DEPTH = 24;
const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;

export interface SourceStructure {
  /** The top-level header block, without the blank line that ends it. */
  header: Buffer;
  /** Lower-cased name → unfolded value of the top-level header fields (first occurrence). */
  fields: Map<string, string>;
  root: MessageStructureObject;
  /** The encoded body of every leaf part, by part id ("1" for a single-part message). */
  bodies: Map<string, Buffer>;
}

export class UnusualStructure extends Error {}

/** Where the header block of an entity in [start, end) ends and its body begins (at most `end`). */
function splitEntity(source: Buffer, start: number, end: number): { headerEnd: number; bodyStart: number } {
  const split = (headerEnd: number, bodyStart: number) => ({ headerEnd, bodyStart: Math.min(bodyStart, end) });
  if (source[start] === LF) return split(start, start + 1);
  if (source[start] === CR && source[start + 1] === LF) return split(start, start + 2);
  let at = source.indexOf('\n\r\n', start);
  const crlf = at >= 0 && at < end ? at : -1;
  // a bare-LF header end can only come before the CRLF one (a CRLF mail has none: do not scan all of it)
  at = source.subarray(start, crlf >= 0 ? crlf + 2 : end).indexOf('\n\n');
  const lf = at >= 0 ? start + at : -1;
  if (crlf < 0 && lf < 0) return split(end, end);
  if (lf >= 0 && (crlf < 0 || lf < crlf)) return split(lf + 1, lf + 2);
  return split(crlf + 1, crlf + 3);
}

function decodedParams(parsed: { params: Record<string, string>; decodedParams?: string[] }): Record<string, string> {
  const already = new Set(parsed.decodedParams ?? []);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed.params)) {
    out[key] = already.has(key) || !value.includes('=?') ? value : libmime.decodeWords(value);
  }
  return out;
}

function nodeOf(fields: Map<string, string>, defaultType: string): MessageStructureObject {
  const contentType = fields.get('content-type');
  const parsedType = contentType ? libmime.parseHeaderValue(contentType) : undefined;
  let type = (parsedType?.value ?? '').trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type)) type = defaultType;
  const node: MessageStructureObject = { type };
  if (parsedType && Object.keys(parsedType.params).length) node.parameters = decodedParams(parsedType);
  const encoding = fields.get('content-transfer-encoding');
  node.encoding = encoding ? encoding.trim().toLowerCase() : '7bit';
  const id = fields.get('content-id');
  if (id) node.id = id;
  const disposition = fields.get('content-disposition');
  if (disposition) {
    const parsed = libmime.parseHeaderValue(disposition);
    node.disposition = parsed.value.trim().toLowerCase();
    if (Object.keys(parsed.params).length) node.dispositionParameters = decodedParams(parsed);
  }
  return node;
}

/** Whether `--boundary` at `at` is a delimiter line: the boundary is followed by "--", whitespace or the line end. */
function isDelimiterAt(source: Buffer, at: number, boundaryLength: number, end: number): boolean {
  const next = at + 2 + boundaryLength;
  if (next >= end) return true;
  const c = source[next];
  return c === CR || c === LF || c === DASH || c === 0x20 || c === 0x09;
}

/**
 * Index of the next delimiter line `--boundary` at or after `from`. A line that starts with the
 * boundary and goes on ("--abcdef" for "abc") is a delimiter to some servers and not to others;
 * the part ids would then depend on the server, so that is left to the server.
 */
function nextDelimiter(source: Buffer, marker: Buffer, from: number, bodyStart: number, end: number): number {
  let at = source.indexOf(marker, from);
  while (at >= 0 && at < end) {
    if (at === bodyStart || source[at - 1] === LF) {
      if (isDelimiterAt(source, at, marker.length - 2, end)) return at;
      throw new UnusualStructure('a line starts with the boundary but is no delimiter');
    }
    at = source.indexOf(marker, at + 1);
  }
  return -1;
}

function lineEnd(source: Buffer, from: number, end: number): number {
  const at = source.indexOf(LF, from);
  return at < 0 || at >= end ? end : at + 1;
}

/** The parts between the delimiters of a multipart body: [start, end) of each, CRLF before a delimiter excluded. */
function multipartRanges(source: Buffer, boundary: string, bodyStart: number, end: number): Array<[number, number]> {
  const marker = Buffer.from(`--${boundary}`, 'utf8');
  let at = nextDelimiter(source, marker, bodyStart, bodyStart, end);
  if (at < 0) throw new UnusualStructure('no delimiter of the multipart boundary');
  const ranges: Array<[number, number]> = [];
  for (;;) {
    const isClose = source[at + marker.length] === DASH && source[at + marker.length + 1] === DASH;
    if (isClose) break;
    const partStart = lineEnd(source, at, end);
    const next = nextDelimiter(source, marker, partStart, bodyStart, end);
    if (next < 0) throw new UnusualStructure('the multipart has no closing delimiter');
    let partEnd = next;
    if (partEnd > partStart && source[partEnd - 1] === LF) partEnd--;
    if (partEnd > partStart && source[partEnd - 1] === CR) partEnd--;
    ranges.push([partStart, Math.max(partStart, partEnd)]);
    at = next;
  }
  if (!ranges.length) throw new UnusualStructure('the multipart has no parts');
  return ranges;
}

/** Reads a message source into its structure; throws UnusualStructure where it would have to guess. */
export function structureOfSource(source: Buffer): SourceStructure {
  const bodies = new Map<string, Buffer>();
  let header: Buffer = Buffer.alloc(0);
  let topFields = new Map<string, string>();

  const visit = (start: number, end: number, path: number[], defaultType: string): MessageStructureObject => {
    if (path.length > MAX_DEPTH) throw new UnusualStructure('MIME nesting too deep');
    const { headerEnd, bodyStart } = splitEntity(source, start, end);
    const block = source.subarray(start, headerEnd);
    const fields = parseHeaderBlock(block);
    if (!path.length) {
      header = block;
      topFields = fields;
    }
    const node = nodeOf(fields, defaultType);
    if (path.length) node.part = path.join('.');
    if (node.type.startsWith('multipart/')) {
      const boundary = node.parameters?.boundary;
      if (!boundary) throw new UnusualStructure('multipart without a boundary');
      const childType = node.type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
      node.childNodes = multipartRanges(source, boundary, bodyStart, end).map(([s, e], i) => visit(s, e, [...path, i + 1], childType));
      return node;
    }
    const body = source.subarray(bodyStart, end);
    node.size = body.length;
    bodies.set(node.part ?? '1', body);
    if (node.type === 'message/rfc822') {
      const inner = splitEntity(source, bodyStart, end);
      const subject = parseHeaderBlock(source.subarray(bodyStart, inner.headerEnd)).get('subject');
      node.envelope = subject ? { subject: libmime.decodeWords(subject) } : {};
    }
    return node;
  };

  const root = visit(0, source.length, [], 'text/plain');
  return { header, fields: topFields, root, bodies };
}
