import { randomUUID } from 'crypto';
import type { Application } from '@nocobase/server';
import { Op } from '@nocobase/database';
import { assertSafeHeaders, buildMime, ensureMessageId, SyncedMessage } from '@mailbridge/mail-core';
import type { AccountEngine } from '../accounts/accountEngine';
import { canReceive } from '../accounts/engineConfig';
import { assignThreads, refreshThreadStats } from '../sync/threading';
import { writeTransaction } from '../db/writeTransaction';
import { insertRows, updateRows } from '../db/bulkWrite';
import { withoutNulChars } from '../db/nulChars';
import { StoredOutgoingMessage, toOutgoing } from './outgoingMessage';
import type { MailEvents } from '../mailEvents';
import { noticeIfReconnectNeeded } from '../accounts/reconnectNotice';
import { accountErrorValues, NO_ACCOUNT_ERROR } from '../accounts/accountError';
import { messageRowFromValues } from '../linking/messageRow';
import { moveSentFiles, outboxAttachmentRows } from '../attachments/outboxAttachments';
import { runDrain } from './drainPipeline';
import { mailErrorText } from '../mailErrorText';

/** Where sent mail is filed when the account syncs no Sent folder (yet): SMTP only, SES, SendGrid. */
export const DEFAULT_SENT_FOLDER = 'Sent';

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
  /** Mails of one drain in flight at once. */
  concurrency?: number;
}

type Listener = (entry: any) => void | Promise<void>;
/** A sent entry's new state, written for the whole chunk at once. */
type SentState = { id: string; values: Record<string, unknown> };
const TERMINAL = new Set(['sent', 'failed']);
/** Entries claimed at once, and sent entries whose state and bookkeeping are written together. */
const CHUNK = 20;
/**
 * Mails in flight at once. An SMTP pool queues what its connections cannot take yet, so each connection has its
 * next mail ready; the Graph client queues beyond its 4 requests per mailbox (graphLimiter.ts).
 */
const DEFAULT_CONCURRENCY = 8;

/** A send-only account's "ok" after a successful send is written again after this long at the earliest. */
const SEND_OK_MARK_MS = 30_000;

// The account rows and Sent folders a drain needs, read once per drain instead of once per mail.
class AccountLookup {
  private accounts = new Map<string, Promise<any>>();
  private sentFolders = new Map<string, Promise<string>>();
  private markedOk = new Map<string, number>();

  constructor(private db: any) {}

  get(accountId: string | number) {
    const id = String(accountId);
    if (!this.accounts.has(id)) this.accounts.set(id, this.db.getRepository('mailAccounts').findOne({ filterByTk: id }));
    return this.accounts.get(id)!;
  }

  sentFolder(accountId: string) {
    if (!this.sentFolders.has(accountId)) {
      this.sentFolders.set(
        accountId,
        this.db
          .getModel('mailSyncState')
          .findOne({ where: { accountId, specialUse: 'sent' } })
          .then((state: any) => state?.get('folder') ?? DEFAULT_SENT_FOLDER),
      );
    }
    return this.sentFolders.get(accountId)!;
  }

  /** Whether "sent fine" is news for the account: not already written by this drain in the last SEND_OK_MARK_MS. */
  okIsNews(accountId: string): boolean {
    const at = this.markedOk.get(accountId);
    if (at !== undefined && Date.now() - at < SEND_OK_MARK_MS) return false;
    this.markedOk.set(accountId, Date.now());
    return true;
  }

  /** After a failure is written, the next success is news again. */
  forgetOk(accountId: string) {
    this.markedOk.delete(accountId);
  }
}

function sentRow(accountId: string, folder: string, entry: any, synced: SyncedMessage, threadId: string) {
  const stored: StoredOutgoingMessage = entry.get('message');
  return {
    accountId,
    folder,
    providerId: synced.providerId,
    messageId: synced.messageId,
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
    snippet: (stored.text ?? '').slice(0, 400).replace(/\s+/g, ' ').trim().slice(0, 200),
    text: stored.text ?? null,
    html: stored.html ?? null,
    flags: ['\\Seen'],
    seen: true,
    hasAttachments: Boolean(stored.attachments?.length),
  };
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/** Failed once and waits for its next attempt, which is not due yet: settled for whoever waits on the sending. */
function isWaitingForRetry(entry: any): boolean {
  const next = entry.get('nextAttemptAt');
  return entry.get('state') === 'queued' && entry.get('attempts') > 0 && !!next && new Date(next).getTime() > Date.now();
}

// queued -> sending -> sent | failed. An entry is claimed by a conditional update (only one node wins), keeps
// the Message-ID it was given when queued, and an entry found in "sending" after a crash is never resent on its
// own: it becomes failed/INTERRUPTED for a person to check and retry.
export class Outbox {
  private listeners = new Set<Listener>();
  private decorators: OutgoingDecorator[] = [];
  private draining?: Promise<void>;
  private stopped = false;

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
    const now = new Date();
    const values = {
      accountId: input.accountId,
      state: 'queued',
      message,
      messageId: message.messageId,
      source: input.source ?? 'api',
      createdById: input.createdById ?? null,
      jobId: input.jobId ?? null,
      link: input.link ?? null,
      accepted: [],
      rejected: [],
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
      updatedAt: now,
    };
    // a plain INSERT: the outbox has no model hooks to run, and createdById is set here, not from a request context
    const [id] = await insertRows(this.app.db, 'mailOutbox', [values]);
    return this.model.build({ id, ...values }, { isNewRecord: false, raw: true });
  }

  /** Sends everything due, a chunk at a time with up to `concurrency` mails in flight; concurrent calls share one run. */
  drain(): Promise<void> {
    if (!this.draining) {
      this.draining = this.drainDue().finally(() => {
        this.draining = undefined;
      });
    }
    return this.draining;
  }

  /** After a stop, when the app starts again in the same process. */
  resume() {
    this.stopped = false;
  }

  /** No new chunk is claimed after this; resolves when the running one is done. */
  async stop() {
    this.stopped = true;
    await this.draining?.catch(() => undefined);
  }

  private async drainDue() {
    // a node that died while sending leaves its entries behind; once their lease is over they wait for a person
    await this.recoverInterrupted();
    const accounts = new AccountLookup(this.app.db);
    const leases = this.keepLeases();
    try {
      await runDrain<any, SentState | undefined>(
        {
          claim: () => this.claimDue(leases.tokens),
          send: (entry) => this.sendEntry(entry, accounts),
          settle: (batch) => this.settle(batch, accounts),
          stopped: () => this.stopped,
        },
        { concurrency: this.options.concurrency ?? DEFAULT_CONCURRENCY, batch: CHUNK },
      );
    } finally {
      leases.stop();
    }
  }

  /** The next due entries this node could claim; undefined when none are due. */
  private async claimDue(tokens: Set<string>): Promise<any[] | undefined> {
    const due = await this.model.findAll({
      attributes: ['id'],
      where: { state: 'queued', nextAttemptAt: { [Op.lte]: new Date() } },
      order: [['createdAt', 'ASC']],
      limit: CHUNK,
      raw: true,
    });
    if (!due.length) return undefined;
    return this.claim(
      due.map((row: any) => String(row.id)),
      tokens,
    );
  }

  /** Claims queued entries by a conditional update (only one node wins each) and returns the ones this call won. */
  private async claim(ids: string[], tokens: Set<string>): Promise<any[]> {
    const claimToken = randomUUID();
    tokens.add(claimToken);
    const [count] = await this.model.update(
      {
        state: 'sending',
        claimToken,
        leaseUntil: new Date(Date.now() + this.options.sendLeaseMs),
        attempts: this.app.db.sequelize.literal('attempts + 1'),
      },
      { where: { id: { [Op.in]: ids }, state: 'queued' }, silent: true },
    );
    if (!count) return [];
    return this.model.findAll({ where: { claimToken, state: 'sending' }, order: [['createdAt', 'ASC']] });
  }

  /** While this node is sending, the leases of what it claimed are kept fresh: only a gone node's entries run out. */
  private keepLeases() {
    const tokens = new Set<string>();
    const heartbeat = setInterval(
      () => {
        if (!tokens.size) return;
        this.model
          .update(
            { leaseUntil: new Date(Date.now() + this.options.sendLeaseMs) },
            { where: { claimToken: { [Op.in]: [...tokens] }, state: 'sending' }, silent: true },
          )
          .catch(() => undefined);
      },
      Math.max(250, Math.floor(this.options.sendLeaseMs / 3)),
    );
    heartbeat.unref?.();
    return { tokens, stop: () => clearInterval(heartbeat) };
  }

  /** Sends one queued entry if this node can claim it; returns the entry as it ends up. */
  async process(id: string) {
    const leases = this.keepLeases();
    try {
      const [entry] = await this.claim([id], leases.tokens);
      if (!entry) return this.model.findByPk(id);
      const accounts = new AccountLookup(this.app.db);
      await this.settle([{ entry, result: await this.sendEntry(entry, accounts) }], accounts);
      return entry;
    } finally {
      leases.stop();
    }
  }

  /** Saves the sent states of a batch, then its bookkeeping: sent copies, linking, listeners. */
  private async settle(batch: Array<{ entry: any; result: SentState | undefined }>, accounts: AccountLookup) {
    await this.saveSentStates(batch.flatMap(({ result }) => (result ? [result] : [])));
    await this.afterSend(
      batch.map(({ entry }) => entry),
      accounts,
    );
  }

  /**
   * The sent state of a batch's mails, in one statement. Until it is written an entry stays "sending" under its
   * lease, so a crash in between leaves it for a person to check, never for a second send.
   */
  private async saveSentStates(sent: SentState[]) {
    // no model hooks: nothing else listens to the outbox's state
    await updateRows(this.app.db, 'mailOutbox', sent).catch((err: any) =>
      this.app.log.error(`${sent.length} mail(s) sent but their state not saved; they will show as interrupted: ${err.message}`),
    );
  }

  /** Sends one entry: its new state when it went out (set on the entry, saved with its batch), else undefined. */
  private async sendEntry(entry: any, accounts: AccountLookup): Promise<SentState | undefined> {
    try {
      const account = await accounts.get(entry.get('accountId'));
      if (!account)
        throw Object.assign(new Error('The mail account no longer exists.'), {
          code: 'PROVIDER_ERROR',
          retryable: false,
        });
      const transport = await this.engine.transport(account);
      const result = await transport.send(toOutgoing(entry.get('message')));
      const values = {
        state: 'sent',
        providerMessageId: result.providerMessageId,
        messageId: result.messageId,
        accepted: result.accepted,
        rejected: result.rejected,
        sentAt: new Date(),
        lastError: null,
        errorCode: null,
        leaseUntil: null,
      };
      entry.set(values, { raw: true });
      return { id: String(entry.get('id')), values };
    } catch (err: any) {
      await this.recordFailure(entry, err);
      return undefined;
    }
  }

  private async afterSend(entries: any[], accounts: AccountLookup) {
    try {
      await this.recordChunk(entries, accounts);
    } catch (err: any) {
      this.app.log.error(`mail outbox: bookkeeping after sending ${entries.length} mail(s) failed: ${err.message}`);
    }
    for (const entry of entries) await this.notify(entry);
    await moveSentFiles(this.app, entries).catch((err: any) => this.app.log.warn(`mail outbox: sent files stay in the outbox: ${err.message}`));
  }

  private async recordChunk(entries: any[], accounts: AccountLookup) {
    for (const [accountId, ofAccount] of groupBy(entries, (e) => String(e.get('accountId')))) {
      const account = await accounts.get(accountId);
      if (!account) continue;
      if (!canReceive(account.get('provider'))) await this.markSendOnlyAccount(account, ofAccount, accounts);
      const sent = ofAccount.filter((e) => e.get('state') === 'sent');
      // The mail is out: a failure from here on must not put it back in the queue.
      if (sent.length) {
        await this.recordSentMessages(account, sent, accounts).catch((err: any) =>
          this.app.log.error(`${sent.length} mail(s) sent but not stored (${sent.map((e) => e.get('messageId')).join(', ')}): ${err.message}`),
        );
      }
    }
  }

  // A send-only account has no sync to tell its health: the outcome of its last send does. A drain writes "ok"
  // once (and again after a failure or half a minute), not per chunk of 20.
  private async markSendOnlyAccount(account: any, entries: any[], accounts: AccountLookup) {
    const entry = entries[entries.length - 1];
    const sent = entry.get('state') === 'sent';
    const accountId = String(account.get('id'));
    if (!sent && entry.get('errorCode') !== 'AUTH_FAILED') return;
    if (sent && !accounts.okIsNews(accountId)) return;
    if (!sent) accounts.forgetOk(accountId);
    await this.app.db
      .getModel('mailAccounts')
      .update(
        sent
          ? { status: 'ok', ...NO_ACCOUNT_ERROR, consecutiveFailures: 0, lastSuccessAt: new Date() }
          : { status: 'error', lastError: entry.get('lastError'), lastErrorCode: entry.get('errorCode') },
        { where: { id: account.get('id') }, hooks: false, silent: true },
      );
  }

  private async recordFailure(entry: any, err: any) {
    await noticeIfReconnectNeeded(this.app, entry.get('accountId'), err);
    if (err.needsReconnect) {
      await this.app.db
        .getModel('mailAccounts')
        .update(
          { status: 'needs-reconnect', ...accountErrorValues(err) },
          { where: { id: entry.get('accountId') }, hooks: false, silent: true },
        );
    }
    const retryable = err.retryable === true && entry.get('attempts') < this.options.maxAttempts;
    const delayMs = err.retryAfterMs ?? Math.min(60_000 * 2 ** (entry.get('attempts') - 1), 3_600_000);
    await entry.update({
      state: retryable ? 'queued' : 'failed',
      nextAttemptAt: retryable ? new Date(Date.now() + delayMs) : null,
      lastError: mailErrorText(err),
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

  // Sent mail joins its thread at once (providerId "outbox:<id>"), with its files read from the entry, a chunk in
  // one transaction; the sync later adopts the Sent copies.
  private async recordSentMessages(account: any, entries: any[], accounts: AccountLookup) {
    const accountId = String(account.get('id'));
    const sentFolder = await accounts.sentFolder(accountId);
    const sentAt = new Date();
    const synced = entries.map((entry) => {
      const stored: StoredOutgoingMessage = entry.get('message');
      return {
        providerId: `outbox:${entry.get('id')}`,
        messageId: entry.get('messageId'),
        inReplyTo: stored.inReplyTo,
        references: stored.references ?? [],
        subject: stored.subject,
        from: stored.from,
        to: stored.to,
        cc: stored.cc ?? [],
        date: sentAt,
      } as SyncedMessage;
    });
    const stored = await this.app.db.sequelize.transaction(writeTransaction(this.app.db), async (transaction: any) => {
      const threadOf = await assignThreads(this.app.db, accountId, synced, transaction);
      const values = entries.map((entry, i) => withoutNulChars(sentRow(accountId, sentFolder, entry, synced[i], threadOf.get(synced[i])!)));
      const ids = await insertRows(this.app.db, 'mailMessages', values, transaction);
      const files = entries.flatMap((entry, i) => outboxAttachmentRows(ids[i], String(entry.get('id')), entry.get('message')));
      if (files.length) await insertRows(this.app.db, 'mailAttachments', files, transaction);
      await refreshThreadStats(this.app.db, [...threadOf.values()], transaction);
      return values.map((row, i) => messageRowFromValues(ids[i], row));
    });
    // Linking needs the entry of a mail sent from a record; the others go together.
    const plain = stored.filter((_, i) => !entries[i].get('link'));
    const event = { accountId, folder: sentFolder, direction: 'out' as const, initial: false, account };
    await this.events.messagesStored({ ...event, messageIds: plain.map((row) => row.id), rows: plain });
    for (const [i, entry] of entries.entries()) {
      if (entry.get('link')) await this.events.messagesStored({ ...event, messageIds: [stored[i].id], rows: [stored[i]], outboxEntry: entry });
    }
    if (canReceive(account.get('provider')) && account.get('settings')?.appendSent !== false) {
      await this.appendToSent(account, entries.map((entry) => ({ ...entry.get('message'), messageId: entry.get('messageId') })));
    }
  }

  // SMTP servers do not keep a copy of what they relay; IMAP accounts get theirs in the Sent folder.
  private async appendToSent(account: any, messages: StoredOutgoingMessage[]) {
    let source;
    try {
      source = await this.engine.source(account);
      for (const message of messages) {
        const { raw } = await buildMime(toOutgoing(message));
        await source.appendToFolder('sent', raw, ['\\Seen']);
      }
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

  /**
   * Deletes a failed entry, or one that failed and waits for its next attempt (not due yet, so no drain can be
   * sending it); false when it is neither (or no longer). One conditional statement: a claim either came first and
   * the entry is kept, or finds nothing.
   */
  async discard(id: string) {
    const waiting = { state: 'queued', attempts: { [Op.gt]: 0 }, nextAttemptAt: { [Op.gt]: new Date() } };
    return (await this.model.destroy({ where: { id, [Op.or]: [{ state: 'failed' }, waiting] } })) === 1;
  }

  /** Resolves when the entry is sent or failed or waits for its next attempt, or after timeoutMs with its current state. */
  async waitForSettled(id: string, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entry = await this.model.findByPk(id);
      if (!entry || TERMINAL.has(entry.get('state')) || isWaitingForRetry(entry) || Date.now() > deadline) return entry;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
