import type { Readable } from 'node:stream';

/** A mailbox: `{ name: 'Anna Berger', address: 'anna@example.com' }`. */
export interface Address {
  name?: string;
  address: string;
}

export interface OutgoingAttachment {
  filename: string;
  contentType?: string;
  content: Buffer | string | Readable;
  /** Content-ID without angle brackets; makes the attachment an inline part of the html. */
  cid?: string;
}

/** A message to send. Header values must not contain CR or LF (see `assertSafeHeaders`). */
export interface OutgoingMessage {
  from: Address;
  /**
   * The mailbox that actually sends when `from` is an alias or a shared mailbox: becomes the
   * `Sender:` header and the SMTP envelope sender.
   */
  sender?: Address;
  to: Address[];
  cc?: Address[];
  bcc?: Address[];
  replyTo?: Address[];
  subject: string;
  text?: string;
  html?: string;
  attachments?: OutgoingAttachment[];
  /** Extra headers, e.g. `{ 'X-Mailbridge-Case': 'V-2024-17' }`. */
  headers?: Record<string, string>;
  /** `<id@domain>`; generated as `<uuid@sender-domain>` when absent. */
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  date?: Date;
}

export interface SendResult {
  /** The id the provider knows the message by (SMTP: the server's queue id answer, else the Message-ID). */
  providerMessageId: string;
  /** The final MIME Message-ID, `<…@…>`. */
  messageId: string;
  accepted: string[];
  rejected: string[];
}

export interface SendOptions {
  signal?: AbortSignal;
}

/** Sends mail. One per account; safe to share between concurrent senders. */
export interface MailTransport {
  send(msg: OutgoingMessage, opts?: SendOptions): Promise<SendResult>;
  /** Connects and authenticates, then disconnects: "test connection". Throws a MailError. */
  verify(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Receiving

export type SpecialUse = 'inbox' | 'sent' | 'drafts' | 'trash' | 'junk' | 'archive';

export interface FolderInfo {
  /** Full path, the id to pass to `syncFolder`. */
  path: string;
  name: string;
  specialUse?: SpecialUse;
  delimiter: string;
}

/**
 * Where the sync of one folder stands. JSON-serialisable; persist it only after the batch it came
 * with is stored. Treat it as opaque: its fields belong to the provider that made it.
 */
export interface FolderCursor {
  v: 1;
  uidValidity: number;
  /** Every UID below this one has been looked at. */
  uidNext: number;
  /** Flag changes up to this mod-sequence are reported (decimal string, it can exceed 2^53). */
  highestModseq?: string;
  /** Server message count when the folder was last fully synced; a cheap change detector. */
  messages?: number;
  /** The UIDs reported as added and not yet as deleted, as a compact IMAP set ("1:500,502"). */
  uids: string;
  /** Set while the initial sync of a time window is unfinished: only mail since this date. */
  windowSince?: string;
}

export interface SyncedAddress {
  name?: string;
  address: string;
}

export interface AttachmentMeta {
  /** IMAP body part id ("2", "1.3"); pass to `downloadAttachment`. */
  partId: string;
  filename?: string;
  contentType: string;
  /** Decoded size in bytes, estimated from the encoded size. */
  size: number;
  /** Content-ID without angle brackets. */
  cid?: string;
  disposition: 'attachment' | 'inline';
}

/** The headers that tell an auto-reply or a list mail from a personal one. */
export interface HeadersOfInterest {
  autoSubmitted?: string;
  precedence?: string;
  xAutoResponseSuppress?: string;
  listId?: string;
  /** Where the mail was delivered (the agent address of a Bcc or a forward is only visible here). */
  deliveredTo?: string;
  xOriginalTo?: string;
}

export interface SyncedMessage {
  /** The id within the folder (IMAP: the UID). Unique per (folder, uidValidity). */
  providerId: string;
  folder: string;
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  from?: SyncedAddress;
  sender?: SyncedAddress;
  to: SyncedAddress[];
  cc: SyncedAddress[];
  bcc: SyncedAddress[];
  replyTo: SyncedAddress[];
  subject: string;
  /** The Date header, or the arrival time when the header is missing or broken. */
  date: Date;
  receivedAt?: Date;
  flags: string[];
  size: number;
  text?: string;
  html?: string;
  snippet: string;
  hasAttachments: boolean;
  attachments: AttachmentMeta[];
  headers: HeadersOfInterest;
  /** Set when the message could not be parsed; the envelope fields are still filled in. */
  parseError?: string;
  /** The provider's own thread key: Graph's conversationId (Microsoft 365). */
  conversationId?: string;
}

export interface FlagChange {
  providerId: string;
  flags: string[];
}

export interface SyncBatch {
  added: SyncedMessage[];
  changed: FlagChange[];
  deleted: string[];
  /** Safe to persist once this batch is stored. */
  cursor: AnyFolderCursor;
  /** The folder's UIDVALIDITY changed: drop every stored row of this folder, then store this batch. */
  reset?: boolean;
}

/** The cursor of any provider: JSON, opaque to the caller (IMAP: FolderCursor, Graph: GraphFolderCursor). */
export type AnyFolderCursor = FolderCursor | { v: 1; kind: string; [key: string]: unknown };

export interface SyncOptions {
  /** Which of these provider ids the store already has (Graph reports known ones as flag changes). */
  knownIds?: (providerIds: string[]) => Promise<Iterable<string>> | Iterable<string>;
  /** Initial sync: only mail that arrived in the last N days. 0 or absent: everything. */
  initialWindowDays?: number;
  /** Messages per batch (default 500). */
  batchSize?: number;
  /** Messages in the first batch (IMAP; default batchSize): a small one lets the caller start storing sooner. */
  firstBatchSize?: number;
  signal?: AbortSignal;
}

export interface DownloadedAttachment {
  stream: Readable;
  contentType: string;
  filename?: string;
}

export type AppendTarget = SpecialUse | { path: string };

export interface AppendResult {
  path: string;
  providerId?: string;
}

export type FolderChangeListener = (event: { folder: string; kind: 'exists' | 'expunge' | 'flags' }) => void;

/** Receives mail. One per account; calls are serialised on one connection. */
export interface MailSource {
  listFolders(): Promise<FolderInfo[]>;
  /**
   * Yields what changed since `cursor` (everything in the window when null), one batch at a time.
   * Always yields at least one batch; the last batch's cursor is the folder's new state.
   */
  syncFolder(folder: string, cursor: AnyFolderCursor | null, opts?: SyncOptions): AsyncIterable<SyncBatch>;
  downloadAttachment(folder: string, providerId: string, partId: string): Promise<DownloadedAttachment>;
  /** Stores a raw message in a folder, e.g. a sent mail in 'sent'. */
  appendToFolder(target: AppendTarget, raw: Buffer, flags?: string[]): Promise<AppendResult>;
  /** Marks a message read or unread on the server (IMAP \\Seen, Graph isRead). */
  setSeen(folder: string, providerId: string, seen: boolean): Promise<void>;
  /** Watches a folder (IMAP IDLE) on a connection of its own; resolves to a stop function. */
  watch(folder: string, onChange: FolderChangeListener): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
