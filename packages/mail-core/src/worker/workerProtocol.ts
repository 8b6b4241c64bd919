/** What the engine worker and its hosts say to each other, and how errors cross the thread boundary. */
import { MailError, type MailErrorCode } from '../errors';
import type { AnyFolderCursor, OutgoingMessage } from '../types';

/** Which callbacks of the caller's RuntimeOptions the worker may ask for. */
export interface WireRuntime {
  tokens: boolean;
  commands: boolean;
}

export type ToWorker =
  | { op: 'openSource'; ownerId: number; config: unknown; runtime: WireRuntime }
  | { op: 'openTransport'; ownerId: number; config: unknown; runtime: WireRuntime }
  | { op: 'token'; id: number; token?: string; error?: WireError }
  | { op: 'listFolders'; id: number; ownerId: number }
  | { op: 'sync'; syncId: number; ownerId: number; folder: string; cursor: AnyFolderCursor | null; opts: Record<string, unknown> }
  | { op: 'next'; id: number; syncId: number }
  | { op: 'abort'; callId: number }
  | { op: 'end'; id: number; syncId: number }
  | { op: 'send'; id: number; ownerId: number; message: OutgoingMessage; abortable: boolean }
  | { op: 'verify'; id: number; ownerId: number }
  | { op: 'close'; id: number; ownerId: number };

export type FromWorker =
  | { type: 'result'; id: number; value?: any; error?: WireError }
  | { type: 'token'; ownerId: number; id: number; forceRefresh: boolean }
  | { type: 'command'; ownerId: number; line: string };

export interface WireError {
  mail: boolean;
  name?: string;
  message: string;
  code?: string;
  hint?: string;
  retryable?: boolean;
  retryAfterMs?: number;
  responseCode?: number;
  rejected?: string[];
  context?: Record<string, unknown>;
  needsReconnect?: boolean;
}

export function errorToWire(err: unknown): WireError {
  if (err instanceof MailError) {
    return {
      mail: true,
      message: err.message,
      code: err.code,
      hint: err.hint,
      retryable: err.retryable,
      retryAfterMs: err.retryAfterMs,
      responseCode: err.responseCode,
      rejected: err.rejected,
      context: err.context as Record<string, unknown> | undefined,
      needsReconnect: err.needsReconnect,
    };
  }
  const e = err as { name?: string; message?: string; code?: unknown };
  return { mail: false, name: e?.name, message: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : undefined };
}

export function errorFromWire(wire: WireError): Error {
  if (!wire.mail) return Object.assign(new Error(wire.message), { ...(wire.name ? { name: wire.name } : {}), ...(wire.code ? { code: wire.code } : {}) });
  return new MailError(wire.code as MailErrorCode, wire.message, {
    hint: wire.hint,
    retryable: wire.retryable,
    retryAfterMs: wire.retryAfterMs,
    responseCode: wire.responseCode,
    rejected: wire.rejected,
    context: wire.context,
    needsReconnect: wire.needsReconnect,
  });
}
