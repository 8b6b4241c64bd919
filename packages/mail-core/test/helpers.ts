import { ImapFlow } from 'imapflow';
import type { Dovecot } from '@mailbridge/mail-testkit';
import type { SmtpImapAccountConfig, FolderCursor, MailSource, SyncBatch, SyncOptions, SyncedMessage } from '@mailbridge/mail-core';

export const ALICE = { user: 'alice@example.test', password: 'alice-pw-1' };

export function accountFor(dc: Dovecot, smtpPort = 1, overrides: Partial<SmtpImapAccountConfig> = {}): SmtpImapAccountConfig {
  return {
    provider: 'smtp-imap',
    address: ALICE.user,
    smtp: { host: '127.0.0.1', port: smtpPort, security: 'none' },
    imap: { host: dc.host, port: dc.imapPort, security: 'none' },
    auth: { method: 'password', password: ALICE.password },
    ...overrides,
  };
}

/** What the NocoBase half does with batches, in memory: rows by provider id, cursor persisted after each batch. */
export class FolderStore {
  rows = new Map<string, SyncedMessage>();
  flags = new Map<string, string[]>();
  cursor: FolderCursor | null = null;
  added = 0;
  batches: SyncBatch[] = [];

  apply(batch: SyncBatch): void {
    this.batches.push(batch);
    if (batch.reset) {
      this.rows.clear();
      this.flags.clear();
    }
    for (const m of batch.added) {
      if (this.rows.has(m.providerId)) throw new Error(`duplicate add of ${m.providerId}`);
      this.rows.set(m.providerId, m);
      this.flags.set(m.providerId, m.flags);
      this.added++;
    }
    for (const c of batch.changed) this.flags.set(c.providerId, c.flags);
    for (const id of batch.deleted) {
      this.rows.delete(id);
      this.flags.delete(id);
    }
    // JSON round trip: the cursor has to survive being stored
    this.cursor = JSON.parse(JSON.stringify(batch.cursor));
  }

  async sync(source: MailSource, folder: string, opts: SyncOptions = {}): Promise<SyncBatch[]> {
    const seen: SyncBatch[] = [];
    for await (const batch of source.syncFolder(folder, this.cursor, opts)) {
      this.apply(batch);
      seen.push(batch);
    }
    return seen;
  }
}

export function merged(batches: SyncBatch[]) {
  return {
    added: batches.flatMap((b) => b.added),
    changed: batches.flatMap((b) => b.changed),
    deleted: batches.flatMap((b) => b.deleted),
    reset: batches.some((b) => b.reset),
  };
}

/** A plain imapflow client for arranging a test (flag, delete, create folders) — not the code under test. */
export async function rawClient(dc: Dovecot, user = ALICE): Promise<ImapFlow> {
  const client = new ImapFlow({ host: dc.host, port: dc.imapPort, secure: false, auth: { user: user.user, pass: user.password }, logger: false, disableAutoIdle: true });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

export async function expectMailError(promise: Promise<unknown>, code: string): Promise<Error & { code: string; hint: string; retryable: boolean }> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeDefined();
  expect((caught as Error).name).toBe('MailError');
  expect((caught as { code: string }).code).toBe(code);
  return caught as Error & { code: string; hint: string; retryable: boolean };
}
