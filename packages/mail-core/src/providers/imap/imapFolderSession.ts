/**
 * A folder selected for a sync: locks it per step (never across a yield), checks UIDVALIDITY on
 * every re-select, follows the connection when it is replaced, and leaves the folder unselected.
 */
import type { ImapFlow, MailboxLockObject } from 'imapflow';
import { MailError } from '../../errors';

/** Unselects `folder` once no one else works in it (a download may still hold it). */
export async function unselect(client: ImapFlow, folder: string): Promise<void> {
  const lock = await client.getMailboxLock(folder, { readOnly: true });
  try {
    if (client.mailbox && client.mailbox.path === folder) await client.mailboxClose();
  } finally {
    lock.release();
  }
}

/**
 * The connection a sync runs on. `reconnect` replaces a connection the server dropped; the sync
 * uses it only when the server dropped it over one message it cannot read (dovecot answers a
 * failed FETCH with BYE), never for a plain outage.
 */
export interface ImapClientHandle {
  readonly client: ImapFlow;
  reconnect?(): Promise<ImapFlow>;
}

/** The server ended the session because it could not read a message, not because it went away. */
export function serverRefusedFetch(client: ImapFlow): boolean {
  return !client.usable && /FETCH failed|internal error|corrupt/i.test(client.byeReason ?? '');
}

export class FolderSession {
  private readonly listening = new Set<ImapFlow>();

  /** Set from STATUS before the folder is first selected. */
  uidValidity = 0;

  constructor(
    private readonly handle: ImapClientHandle,
    readonly path: string,
    private readonly onExpunge: (event: { path: string; uid?: number; vanished: boolean }) => void,
  ) {
    this.listen();
  }

  private listen(): void {
    const client = this.handle.client;
    if (!this.listening.has(client)) {
      client.on('expunge', this.onExpunge);
      this.listening.add(client);
    }
  }

  get client(): ImapFlow {
    return this.handle.client;
  }

  get canReconnect(): boolean {
    return typeof this.handle.reconnect === 'function';
  }

  async reconnect(): Promise<void> {
    if (!this.handle.reconnect) throw new Error('cannot reconnect');
    await this.handle.reconnect();
    this.listen();
  }

  /**
   * Runs `work` with the folder selected (read-only). The lock is never held across a yield, so a
   * download can run while the caller stores a batch; re-selecting checks UIDVALIDITY again.
   */
  async locked<T>(work: (client: ImapFlow) => Promise<T>, opts: { closeAfter?: boolean } = {}): Promise<T> {
    const client = this.handle.client;
    const lock: MailboxLockObject = await client.getMailboxLock(this.path, { readOnly: true });
    try {
      const mailbox = client.mailbox;
      if (mailbox && Number(mailbox.uidValidity) !== this.uidValidity) {
        throw new MailError('PROVIDER_ERROR', `The UIDVALIDITY of "${this.path}" changed during the sync.`, {
          retryable: true,
          hint: 'The folder was recreated on the server. The next sync starts it over.',
        });
      }
      const result = await work(client);
      // STATUS on a selected folder may answer from the session's stale view (dovecot does), so
      // a finished sync leaves the folder unselected: the next poll is then one accurate STATUS
      if (opts.closeAfter) await client.mailboxClose();
      return result;
    } finally {
      lock.release();
    }
  }

  detach(): void {
    for (const client of this.listening) client.off('expunge', this.onExpunge);
    this.listening.clear();
  }
}
