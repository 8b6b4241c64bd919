// Aborts work that stops making progress: every awaited step and every batch resets the timer, and a stall
// rejects the pending step with a TIMEOUT error instead of hanging the sync forever.
export class Watchdog {
  private controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private rejectPending?: (err: Error) => void;

  constructor(private timeoutMs: number) {
    this.reset();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private stallError() {
    return Object.assign(new Error(`The mail server made no progress for ${Math.round(this.timeoutMs / 1000)} s.`), {
      code: 'TIMEOUT',
      hint: 'The sync was stopped and will be retried; check the server if this repeats.',
    });
  }

  reset() {
    clearTimeout(this.timer);
    if (this.controller.signal.aborted) return;
    this.timer = setTimeout(() => this.abort(this.stallError()), this.timeoutMs);
    this.timer.unref?.();
  }

  /** Stops the guarded work now with this error (e.g. when the sync lost its lease). */
  abort(err: Error) {
    clearTimeout(this.timer);
    if (this.controller.signal.aborted) return;
    this.controller.abort(err);
    this.rejectPending?.(err);
  }

  async guard<T>(work: Promise<T>): Promise<T> {
    this.reset();
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          this.rejectPending = reject;
          if (this.controller.signal.aborted) reject(this.controller.signal.reason);
        }),
      ]);
    } finally {
      this.rejectPending = undefined;
      this.reset();
    }
  }

  async *iterate<T>(source: AsyncIterable<T>): AsyncIterable<T> {
    const it = source[Symbol.asyncIterator]();
    for (;;) {
      const next = await this.guard(it.next());
      if (next.done) return;
      yield next.value;
    }
  }

  stop() {
    clearTimeout(this.timer);
  }
}
