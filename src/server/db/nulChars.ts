import { utf8BodiesOf, type SyncedMessage } from '@mailbridge/mail-core';

// PostgreSQL's text and jsonb cannot hold U+0000, and a mail can (Graph passes it on, so do some IMAP servers, and
// an API caller may send one in a body). On PostgreSQL such a text was stored as the two characters "\0" instead,
// and the mail read differently than on SQLite. The character carries nothing readable: it is dropped from what
// is stored as a mail, on every database alike.

const NUL = '\u0000';

const isNested = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && !(value instanceof Date) && !(value instanceof Uint8Array);

// Read first, write only where found: a mail without the character (nearly all) allocates nothing here.
function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes(NUL);
  if (Array.isArray(value)) return value.some(hasNul);
  if (isNested(value)) for (const key in value) if (hasNul((value as Record<string, unknown>)[key])) return true;
  return false;
}

function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll(NUL, '');
  if (Array.isArray(value)) return value.map(withoutNul);
  if (isNested(value)) for (const [key, inner] of Object.entries(value)) (value as Record<string, unknown>)[key] = withoutNul(inner);
  return value;
}

/** The value with U+0000 dropped from every string in it (objects are changed in place, arrays copied). */
export function withoutNulChars<T>(value: T): T {
  return hasNul(value) ? (withoutNul(value) as T) : value;
}

/** Drops U+0000 from every text of a synced message; bodies held as UTF-8 bytes are decoded only if they hold one. */
export function dropNulChars(m: SyncedMessage): void {
  const utf8 = utf8BodiesOf(m);
  for (const body of ['text', 'html'] as const) {
    const bytes = utf8?.[body];
    if (bytes ? bytes.includes(0) : m[body]?.includes(NUL)) m[body] = m[body]!.replaceAll(NUL, '');
  }
  const fields = m as unknown as Record<string, unknown>;
  for (const key of Object.keys(m)) {
    if (key !== 'text' && key !== 'html') fields[key] = withoutNulChars(fields[key]);
  }
}
