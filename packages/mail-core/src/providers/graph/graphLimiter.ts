/**
 * Exchange Online answers a fifth concurrent request of one app to one mailbox with 429
 * (MailboxConcurrency). One limiter per mailbox, shared by every transport and source of this
 * process, keeps at most N in flight and queues the rest in arrival order.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {}

  get inFlight(): number {
    return this.active;
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.active >= this.max) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(wake);
          if (i >= 0) this.waiting.splice(i, 1);
          const err = new Error('The request was aborted.');
          err.name = 'AbortError';
          reject(err);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(wake);
      });
    } else {
      this.active++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.active--;
    };
  }

  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await work();
    } finally {
      release();
    }
  }
}

const limiters = new Map<string, ConcurrencyLimiter>();

/** The process-wide limiter of one mailbox on one Graph host. */
export function mailboxLimiter(graphBase: string, mailbox: string, max = 4): ConcurrencyLimiter {
  const key = `${graphBase.toLowerCase()}|${mailbox.trim().toLowerCase()}|${max}`;
  let limiter = limiters.get(key);
  if (!limiter) {
    limiter = new ConcurrencyLimiter(max);
    limiters.set(key, limiter);
  }
  return limiter;
}
