import type { MessageRow } from './linking/messageRow';
// What the sync and the outbox tell the rest of the plugin (linking, the "E-Mail received" trigger): stored
// messages, by database id. Listeners run after the messages are committed; a failing listener is logged and
// never undoes or blocks the sync.
export interface MessagesStoredEvent {
  accountId: string;
  folder: string;
  messageIds: string[];
  /** The stored rows as linking reads them, when the sender has them at hand (saves reading them back). */
  rows?: MessageRow[];
  direction: 'in' | 'out';
  /** Initial sync or resync of a folder: imported history, which must not fire triggers or auto-replies. */
  initial: boolean;
  /** For sent mail: the outbox entry it came from (carries the record it was sent from, if any). */
  outboxEntry?: any;
  /** The account row as the sync or the drain read it when it began, when it has it (saves reading it again). */
  account?: any;
}

type Listener = (event: MessagesStoredEvent) => Promise<void> | void;

export class MailEvents {
  private listeners: Listener[] = [];

  constructor(private log: { error(msg: string): void }) {}

  onMessagesStored(listener: Listener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  async messagesStored(event: MessagesStoredEvent) {
    if (!event.messageIds.length) return;
    for (const listener of this.listeners) {
      try {
        await listener(event);
      } catch (err: any) {
        this.log.error(`mail event listener failed: ${err?.stack ?? err}`);
      }
    }
  }
}
