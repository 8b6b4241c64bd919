import type { Application } from '@nocobase/server';
import { Op } from '@nocobase/database';
import { assertSafeHeaders, buildMime, ensureMessageId, SyncedMessage } from '@mailbridge/mail-core';
import type { AccountEngine } from '../accounts/accountEngine';
import { canReceive } from '../accounts/engineConfig';
import { assignThreads, refreshThreadStats } from '../sync/threading';
import { StoredOutgoingMessage, toOutgoing } from './outgoingMessage';
import type { MailEvents } from '../mailEvents';
import { noticeIfReconnectNeeded } from '../accounts/reconnectNotice';

export interface RecordRef {
  collection: string;
  recordId: string | number;
}

/** Changes a mail before it is queued, e.g. adds the record's token to the subject (see linking/). */
export type OutgoingDecorator = (input: {
  accountId: string;
  message: StoredOutgoingMessage;
  link?: RecordRef;
}) => Promise<StoredOutgoingMessage> | StoredOutgoingMessage;

export interface EnqueueInput {
  accountId: string;
  message: StoredOutgoingMessage;
  link?: RecordRef;
  source?: 'ui' | 'api' | 'workflow';
  createdById?: number | string;
  jobId?: string | number;
}

export interface OutboxOptions {
  /** How long a claimed entry may stay in "sending" before it counts as interrupted. */
  sendLeaseMs: number;
  maxAttempts: number;
}

type Listener = (entry: any) => void | Promise<void>;
const TERMINAL = new Set(['sent', 'failed']);

// queued -> sending -> sent | failed. An entry is claimed by a conditional update (only one node wins), keeps
// the Message-ID it was given when queued, and an entry found in "sending" after a crash is never resent on its
// own: it becomes failed/INTERRUPTED for a person to check and retry.
export class Outbox {
  private listeners = new Set<Listener>();
  private decorators: OutgoingDecorator[] = [];
  private draining?: Promise<void>;

  constructor(
    private app: Application,
    private engine: AccountEngine,
    private events: MailEvents,
    private options: OutboxOptions,
  ) {}

  private get model() {
    return this.app.db.getModel('mailOutbox');
  }

  onSettled(listener: Listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  decorate(decorator: OutgoingDecorator) {
    this.decorators.push(decorator);
  }

  async enqueue(input: EnqueueInput) {
    let message = { ...input.message };
    for (const decorate of this.decorators) {
      message = await decorate({ accountId: input.accountId, message, link: input.link });
    }
    assertSafeHeaders(toOutgoing(message));
    message.messageId = ensureMessageId(toOutgoing(message));
    const entry: any = await this.model.create(
      {
        accountId: input.accountId,
        state: 'queued',
        message,
        messageId: message.messageId,
        source: input.source ?? 'api',
        createdById: input.createdById ?? null,
        jobId: input.jobId ?? null,
        link: input.link ?? null,
        nextAttemptAt: new Date(),
      },
      {
        // NocoBase's createdBy field takes its value from the request context, not from the values.
        context: input.createdById ? { state: { currentUser: { id: input.createdById } } } : undefined,
      } as any,
    );
    return entry;
  }

  /** Sends everything due, one entry at a time; concurrent calls share one run. */
  drain(): Promise<void> {
    if (!this.draining) {
      this.draining = this.drainDue().finally(() => {
        this.draining = undefined;
      });
    }
    return this.draining;
  }

  private async drainDue() {
    // a node that died while sending leaves its entries behind; once their lease is over they wait for a person
    await this.recoverInterrupted();
    for (;;) {
      const due = await this.model.findAll({
        where: { state: 'queued', nextAttemptAt: { [Op.lte]: new Date() } },
        order: [['createdAt', 'ASC']],
        limit: 50,
      });
      if (!due.length) return;
      for (const entry of due) await this.process(String(entry.get('id')));
    }
  }

  private async claim(id: string): Promise<boolean> {
    const [count] = await this.model.update(
      {
        state: 'sending',
        leaseUntil: new Date(Date.now() + this.options.sendLeaseMs),
        attempts: this.app.db.sequelize.literal('attempts + 1'),
      },
      { where: { id, state: 'queued' }, silent: true },
    );
    return count === 1;
  }

  /** Sends one queued entry if this node can claim it; returns the entry as it ends up. */
  async process(id: string) {
    if (!(await this.claim(id))) return this.model.findByPk(id);
    const entry: any = await this.model.findByPk(id);
    const account = await this.app.db.getRepository('mailAccounts').findOne({ filterByTk: entry.get('accountId') });
    // While this node is sending, the lease is kept fresh: only an entry whose node is gone runs out of it.
    const heartbeat = setInterval(
      () => {
        this.model
          .update(
            { leaseUntil: new Date(Date.now() + this.options.sendLeaseMs) },
            { where: { id, state: 'sending' }, silent: true },
          )
          .catch(() => undefined);
      },
      Math.max(250, Math.floor(this.options.sendLeaseMs / 3)),
    );
    heartbeat.unref?.();
    try {
      if (!account)
        throw Object.assign(new Error('The mail account no longer exists.'), {
          code: 'PROVIDER_ERROR',
          retryable: false,
        });
      const message = toOutgoing(entry.get('message'));
      const transport = await this.engine.transport(account);
      const result = await transport.send(message);
      await entry.update({
        state: 'sent',
        providerMessageId: result.providerMessageId,
        messageId: result.messageId,
        accepted: result.accepted,
        rejected: result.rejected,
        sentAt: new Date(),
        lastError: null,
        errorCode: null,
        leaseUntil: null,
      });
    } catch (err: any) {
      await this.recordFailure(entry, err);
    } finally {
      clearInterval(heartbeat);
    }
    if (account && !canReceive(account.get('provider'))) await this.markSendOnlyAccount(account, entry);
    if (entry.get('state') === 'sent') {
      // The mail is out: a failure from here on must not put it back in the queue.
      await this.recordSentMessage(account, entry, entry.get('messageId')).catch((err: any) =>
        this.app.log.error(`mail ${entry.get('messageId')} was sent but not stored: ${err.message}`),
      );
    }
    await this.notify(entry);
    return entry;
  }

  // A send-only account has no sync to tell its health: the outcome of its sends does.
  private async markSendOnlyAccount(account: any, entry: any) {
    const sent = entry.get('state') === 'sent';
    if (!sent && entry.get('errorCode') !== 'AUTH_FAILED') return;
    await this.app.db
      .getModel('mailAccounts')
      .update(
        sent
          ? { status: 'ok', lastError: null, consecutiveFailures: 0, lastSuccessAt: new Date() }
          : { status: 'error', lastError: entry.get('lastError') },
        { where: { id: account.get('id') }, hooks: false, silent: true },
      );
  }

  private async recordFailure(entry: any, err: any) {
    await noticeIfReconnectNeeded(this.app, entry.get('accountId'), err);
    if (err.needsReconnect) {
      await this.app.db
        .getModel('mailAccounts')
        .update(
          { status: 'needs-reconnect', lastError: [err.message, err.hint].filter(Boolean).join(' — ') },
          { where: { id: entry.get('accountId') }, hooks: false, silent: true },
        );
    }
    const retryable = err.retryable === true && entry.get('attempts') < this.options.maxAttempts;
    const delayMs = err.retryAfterMs ?? Math.min(60_000 * 2 ** (entry.get('attempts') - 1), 3_600_000);
    await entry.update({
      state: retryable ? 'queued' : 'failed',
      nextAttemptAt: retryable ? new Date(Date.now() + delayMs) : null,
      lastError: [err.message, err.hint].filter(Boolean).join(' — '),
      errorCode: err.code ?? 'PROVIDER_ERROR',
      leaseUntil: null,
    });
  }

  private async notify(entry: any) {
    if (!TERMINAL.has(entry.get('state'))) return;
    for (const listener of this.listeners) {
      try {
        await listener(entry);
      } catch (err: any) {
        this.app.log.error(`mail outbox listener failed: ${err.message}`);
      }
    }
  }

  // The sent mail joins its thread at once (providerId "outbox:<id>"); the sync later adopts the Sent copy.
  private async recordSentMessage(account: any, entry: any, messageId: string) {
    const stored: StoredOutgoingMessage = entry.get('message');
    const accountId = String(account.get('id'));
    const sentFolder = await this.sentFolderPath(accountId);
    const synced = {
      providerId: `outbox:${entry.get('id')}`,
      messageId,
      inReplyTo: stored.inReplyTo,
      references: stored.references ?? [],
      subject: stored.subject,
      date: new Date(),
    } as SyncedMessage;
    const row = await this.app.db.sequelize.transaction(async (transaction: any) => {
      const threadId = (await assignThreads(this.app.db, accountId, [synced], transaction)).get(synced)!;
      const created = await this.app.db.getModel('mailMessages').create(
        {
          accountId,
          folder: sentFolder,
          providerId: synced.providerId,
          messageId,
          inReplyTo: stored.inReplyTo ?? null,
          references: stored.references ?? [],
          threadId,
          direction: 'out',
          from: stored.from,
          fromAddress: stored.from.address.toLowerCase(),
          to: stored.to,
          cc: stored.cc ?? [],
          bcc: stored.bcc ?? [],
          replyTo: stored.replyTo ?? [],
          subject: stored.subject,
          date: synced.date,
          snippet: (stored.text ?? '').replace(/\s+/g, ' ').slice(0, 200),
          text: stored.text ?? null,
          html: stored.html ?? null,
          flags: ['\\Seen'],
          seen: true,
          hasAttachments: Boolean(stored.attachments?.length),
        },
        { transaction },
      );
      await refreshThreadStats(this.app.db, [threadId], transaction);
      return created;
    });
    await this.events.messagesStored({
      accountId,
      folder: sentFolder,
      messageIds: [String(row.get('id'))],
      direction: 'out',
      initial: false,
      outboxEntry: entry,
    });
    if (canReceive(account.get('provider')) && account.get('settings')?.appendSent !== false) {
      await this.appendToSent(account, { ...stored, messageId });
    }
  }

  private async sentFolderPath(accountId: string): Promise<string> {
    const state = await this.app.db.getModel('mailSyncState').findOne({ where: { accountId, specialUse: 'sent' } });
    return state?.get('folder') ?? 'Sent';
  }

  // SMTP servers do not keep a copy of what they relay; IMAP accounts get theirs in the Sent folder.
  private async appendToSent(account: any, message: StoredOutgoingMessage) {
    let source;
    try {
      source = await this.engine.source(account);
      const { raw } = await buildMime(toOutgoing(message));
      await source.appendToFolder('sent', raw, ['\\Seen']);
    } catch (err: any) {
      this.app.log.warn(`mail sent, but the copy in the Sent folder failed: ${err.message}`);
    } finally {
      await source?.close().catch(() => undefined);
    }
  }

  /** Entries a crashed node left in "sending": their outcome is unknown, so they wait for a person. */
  async recoverInterrupted() {
    const stale = await this.model.findAll({ where: { state: 'sending', leaseUntil: { [Op.lt]: new Date() } } });
    let recovered = 0;
    for (const entry of stale) {
      // conditional, like the claim: when several nodes find the same entry, one of them marks and reports it
      const [count] = await this.model.update(
        {
          state: 'failed',
          errorCode: 'INTERRUPTED',
          lastError:
            'Sending was interrupted; the mail may or may not have been delivered. Check the Sent folder before retrying.',
          leaseUntil: null,
        },
        { where: { id: entry.get('id'), state: 'sending', leaseUntil: { [Op.lt]: new Date() } } },
      );
      if (count !== 1) continue;
      await entry.reload();
      await this.notify(entry);
      recovered++;
    }
    return recovered;
  }

  /** Puts a failed entry back in the queue with its original Message-ID. Sent entries are never resent. */
  async retry(id: string) {
    const [count] = await this.model.update(
      { state: 'queued', nextAttemptAt: new Date(), lastError: null, errorCode: null },
      { where: { id, state: 'failed' } },
    );
    return count === 1;
  }

  /** Resolves when the entry is sent or failed, or after timeoutMs with its current state. */
  async waitForSettled(id: string, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entry = await this.model.findByPk(id);
      if (!entry || TERMINAL.has(entry.get('state')) || Date.now() > deadline) return entry;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
