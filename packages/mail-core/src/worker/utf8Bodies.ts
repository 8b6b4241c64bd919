/**
 * How the text and html of a sync batch cross from the worker to the calling thread: as UTF-8 in one transferred
 * buffer instead of strings in the structured clone. The calling thread mostly hands them on to the database, which
 * takes UTF-8 anyway: as strings they were copied into its heap, and encoded once more for the driver.
 *
 * On the calling side `text` and `html` stay what SyncedMessage says they are: read, they are decoded once.
 * `utf8BodiesOf(message)` gives the bytes to whoever can store them as they are.
 */
import type { SyncedMessage } from '../types';

/** The bodies of a batch: one buffer, and per message the [start, end) of its text, then of its html (-1: none). */
export interface PackedBodies {
  buffer: ArrayBuffer;
  spans: Int32Array;
}

export interface Utf8Bodies {
  text?: Buffer;
  html?: Buffer;
}

const BODY_KEYS = ['text', 'html'] as const;
const bytesOf = new WeakMap<SyncedMessage, Utf8Bodies>();

/** Takes text and html out of the messages (worker side); the buffer is meant for the transfer list. */
export function packBodies(messages: SyncedMessage[]): PackedBodies {
  const spans = new Int32Array(messages.length * 4).fill(-1);
  let size = 0;
  messages.forEach((m) => BODY_KEYS.forEach((key) => (size += m[key] === undefined ? 0 : Buffer.byteLength(m[key]!, 'utf8'))));
  const buffer = new ArrayBuffer(size);
  const bytes = Buffer.from(buffer);
  let at = 0;
  messages.forEach((m, i) =>
    BODY_KEYS.forEach((key, k) => {
      const value = m[key];
      if (value === undefined) return;
      spans[i * 4 + k * 2] = at;
      at += bytes.write(value, at, 'utf8');
      spans[i * 4 + k * 2 + 1] = at;
      delete m[key];
    }),
  );
  return { buffer, spans };
}

/** Gives the messages their text and html back (calling side): decoded when first read, kept as bytes until then. */
export function unpackBodies(messages: SyncedMessage[], packed: PackedBodies): void {
  const { buffer, spans } = packed;
  messages.forEach((m, i) => {
    const utf8: Utf8Bodies = {};
    BODY_KEYS.forEach((key, k) => {
      const start = spans[i * 4 + k * 2];
      if (start < 0) return;
      const view = Buffer.from(buffer, start, spans[i * 4 + k * 2 + 1] - start);
      utf8[key] = view;
      let decoded: string | undefined;
      Object.defineProperty(m, key, {
        configurable: true,
        enumerable: true,
        get: () => (decoded ??= view.toString('utf8')),
        set(value: string | undefined) {
          bytesOf.delete(m);
          Object.defineProperty(m, key, { value, writable: true, configurable: true, enumerable: true });
        },
      });
    });
    bytesOf.set(m, utf8);
  });
}

/** The text and html of a message from the sync worker as UTF-8 bytes; undefined for any other message. */
export function utf8BodiesOf(message: SyncedMessage): Utf8Bodies | undefined {
  return bytesOf.get(message);
}
