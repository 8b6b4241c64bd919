/** What SyncWorkerSource and the sync worker say to each other, and how errors cross the thread boundary. */
import { MailError, type MailErrorCode } from '../../errors';
import type { AnyFolderCursor } from '../../types';

export type ToWorker =
  | { op: 'open'; sourceId: number; config: unknown; runtime: { tokens: boolean; commands: boolean } }
  | { op: 'token'; id: number; token?: string; error?: WireError }
  | { op: 'listFolders'; id: number; sourceId: number }
  | { op: 'sync'; syncId: number; sourceId: number; folder: string; cursor: AnyFolderCursor | null; opts: Record<string, unknown> }
  | { op: 'next'; id: number; syncId: number }
  | { op: 'abort'; syncId: number }
  | { op: 'end'; id: number; syncId: number }
  | { op: 'close'; id: number; sourceId: number };

export type FromWorker =
  | { type: 'result'; id: number; value?: any; error?: WireError }
  | { type: 'token'; sourceId: number; id: number; forceRefresh: boolean }
  | { type: 'command'; sourceId: number; line: string };

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
