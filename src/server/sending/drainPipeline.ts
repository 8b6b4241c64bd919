/**
 * The flow of one outbox drain. Claimed entries wait in a short queue that is refilled while they are sent; up to
 * `concurrency` senders take from it, so the connections never wait for a claim; finished entries are handed on
 * in batches whose bookkeeping runs while the next mails go out, at most one batch waiting behind the running
 * one. Once `stopped()` no more entries are claimed; the claimed ones still go out.
 */
export interface DrainSteps<E, R> {
  /** The next claimed entries: undefined when none are due, [] when another node won them all. */
  claim(): Promise<E[] | undefined>;
  send(entry: E): Promise<R>;
  settle(batch: Array<{ entry: E; result: R }>): Promise<void>;
  stopped(): boolean;
}

export async function runDrain<E, R>(steps: DrainSteps<E, R>, opts: { concurrency: number; batch: number }): Promise<void> {
  const claimed: E[] = [];
  let dueLeft = true;
  let claiming: Promise<void> | undefined;
  let failure: unknown;
  const claimMore = () =>
    (claiming ??= steps
      .claim()
      .then(
        (entries) => {
          if (entries) claimed.push(...entries);
          else dueLeft = false;
        },
        (err) => {
          failure ??= err;
          dueLeft = false;
        },
      )
      .finally(() => {
        claiming = undefined;
      }));

  let finished: Array<{ entry: E; result: R }> = [];
  let settling: Promise<void> = Promise.resolve();
  let batchesBehind = 0;
  const flush = () => {
    if (!finished.length) return;
    const batch = finished;
    finished = [];
    batchesBehind++;
    settling = settling
      .then(() => steps.settle(batch))
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => {
        batchesBehind--;
      });
  };

  const sender = async () => {
    for (;;) {
      if (claimed.length < opts.batch && dueLeft && !steps.stopped()) void claimMore();
      const entry = claimed.shift();
      if (entry === undefined) {
        if (!claiming) return;
        await claiming;
        continue;
      }
      if (batchesBehind > 1) await settling;
      // not finished.push(…await…): that would push into the array a flush during the send has handed on
      const result = await steps.send(entry);
      finished.push({ entry, result });
      if (finished.length >= opts.batch) flush();
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, sender));
  flush();
  await settling;
  if (failure) throw failure;
}
