import type { Application } from '@nocobase/server';
import { AccountEngine } from './accounts/accountEngine';
import { SyncService } from './sync/accountSync';
import { SyncScheduler } from './sync/syncScheduler';
import { Outbox } from './sending/outbox';
import { MailEvents } from './mailEvents';
import { writeTransaction } from './db/writeTransaction';
import { destroyAttachmentRows } from './attachments/keptFiles';
import { moveLeftoverSentFiles } from './attachments/outboxAttachments';

export interface MailServiceOptions {
  syncTickMs: number;
  leaseTtlMs: number;
  stallTimeoutMs: number;
  sendLeaseMs: number;
  maxSendAttempts: number;
}

export const DEFAULT_MAIL_OPTIONS: MailServiceOptions = {
  syncTickMs: Number(process.env.MAILBRIDGE_SYNC_TICK_MS) || 15_000,
  leaseTtlMs: Number(process.env.MAILBRIDGE_SYNC_LEASE_MS) || 120_000,
  stallTimeoutMs: Number(process.env.MAILBRIDGE_STALL_TIMEOUT_MS) || 180_000,
  sendLeaseMs: Number(process.env.MAILBRIDGE_SEND_LEASE_MS) || 300_000,
  maxSendAttempts: 5,
};

// The plugin's services, created once per app and shared by the actions, the scheduler and the workflow node.
export class MailService {
  readonly engine: AccountEngine;
  readonly events: MailEvents;
  readonly sync: SyncService;
  readonly scheduler: SyncScheduler;
  readonly outbox: Outbox;
  private outboxTimer?: NodeJS.Timeout;
  private stopping = false;

  constructor(private app: Application, readonly options: MailServiceOptions = DEFAULT_MAIL_OPTIONS) {
    this.engine = new AccountEngine(app);
    this.events = new MailEvents(app.log);
    this.sync = new SyncService(app, this.engine, this.events, options);
    this.scheduler = new SyncScheduler(app, this.sync, options.syncTickMs);
    this.outbox = new Outbox(app, this.engine, this.events, { sendLeaseMs: options.sendLeaseMs, maxAttempts: options.maxSendAttempts });
  }

  async start({ background = true } = {}) {
    this.stopping = false;
    this.outbox.resume();
    this.sync.resume();
    await this.outbox.recoverInterrupted();
    if (!background) return;
    this.scheduler.start();
    this.outboxTimer = setInterval(() => this.drainInBackground(), this.options.syncTickMs);
    this.outboxTimer.unref?.();
    this.drainInBackground();
    moveLeftoverSentFiles(this.app).catch((err: any) => this.app.log.warn(`mail outbox: sent files stay in the outbox: ${err.message}`));
  }

  private drainInBackground() {
    this.outbox.drain().catch((err: any) => {
      if (!this.stopping) this.app.log.error(`mail outbox: ${err.message}`);
    });
  }

  // Stops the timers, lets a running drain finish its chunk, stops running syncs at their next step (their cursors
  // stay where the stored mail ends), and only then closes the connections: nothing touches the database after.
  async stop() {
    this.stopping = true;
    this.scheduler.stop();
    clearInterval(this.outboxTimer);
    await Promise.all([this.outbox.stop(), this.sync.stopAll(), this.scheduler.idle()]);
    await this.engine.closeAll();
  }

  async removeAccount(model: any) {
    const accountId = String(model.get('id'));
    await this.engine.forget(accountId);
    await this.app.db.sequelize.transaction(writeTransaction(this.app.db), async (transaction: any) => {
      const ids = (await this.app.db.getModel('mailMessages').findAll({ attributes: ['id'], where: { accountId }, transaction, raw: true })).map(
        (r: any) => r.id,
      );
      if (ids.length) await destroyAttachmentRows(this.app.db, { mailMessageId: ids }, transaction);
      for (const name of ['mailMessages', 'mailThreads', 'mailSyncState', 'mailOutbox']) {
        await this.app.db.getModel(name).destroy({ where: { accountId }, transaction });
      }
      await model.destroy({ transaction });
    });
  }
}
