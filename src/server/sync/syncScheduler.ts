import type { Application } from '@nocobase/server';
import type { SyncService } from './accountSync';
import { canReceive } from '../accounts/engineConfig';

const DEFAULT_INTERVAL_S = 120;
const MAX_BACKOFF_S = 3600;

// Seconds until an account is due again: its interval, doubled per consecutive failure up to an hour.
export function dueInSeconds(account: { settings?: any; consecutiveFailures?: number }): number {
  const interval = Number(account.settings?.sync?.intervalSeconds) || DEFAULT_INTERVAL_S;
  const failures = Math.min(account.consecutiveFailures ?? 0, 10);
  return failures ? Math.min(interval * 2 ** failures, MAX_BACKOFF_S) : interval;
}

// Polls on a short tick and syncs the accounts that are due, one at a time per node. Which node syncs an
// account is decided by the lease, so every node may run a scheduler.
export class SyncScheduler {
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopped = false;
  private current?: Promise<void>;

  constructor(private app: Application, private sync: SyncService, private tickMs: number) {}

  start() {
    if (this.timer) return;
    this.stopped = false;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref?.();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves when the running tick (if any) is over. */
  async idle() {
    await this.current;
  }

  tick(now = Date.now()): Promise<void> {
    if (this.running) return this.current ?? Promise.resolve();
    this.running = true;
    this.current = this.syncDue(now);
    return this.current;
  }

  private async syncDue(now: number) {
    try {
      const accounts = await this.app.db.getRepository('mailAccounts').find({ filter: { enabled: true } });
      for (const account of accounts) {
        if (this.stopped) return;
        const a = account.toJSON();
        if (!canReceive(a.provider)) continue;
        const last = a.lastSyncAt ? new Date(a.lastSyncAt).getTime() : 0;
        if (last + dueInSeconds(a) * 1000 > now) continue;
        await this.sync.syncAccount(String(a.id));
      }
    } catch (err: any) {
      this.app.log.error(`mail sync scheduler: ${err.message}`);
    } finally {
      this.running = false;
    }
  }
}
