import { runDrain } from '../../src/server/sending/drainPipeline';

// The flow of an outbox drain, with plain steps: every sent entry reaches its bookkeeping exactly once, whatever
// the timing of sends, claims and flushes; the outbox itself is tested against a real SMTP server (faults.test.ts).
const tick = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function queueOf(n: number, chunk: number) {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  return {
    claims: 0,
    async claim() {
      this.claims++;
      await tick(1);
      return ids.length ? ids.splice(0, chunk) : undefined;
    },
  };
}

test('every entry is sent once and settled once, in batches, with at most `concurrency` in flight', async () => {
  const queue = queueOf(205, 20);
  const sent: number[] = [];
  const settled: number[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  await runDrain<number, string>(
    {
      claim: () => queue.claim(),
      async send(entry) {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await tick(entry % 7); // sends finish out of order and across flushes
        inFlight--;
        sent.push(entry);
        return `ok ${entry}`;
      },
      async settle(batch) {
        await tick(3);
        expect(batch.every(({ entry, result }) => result === `ok ${entry}`)).toBe(true);
        settled.push(batch.map(({ entry }) => entry));
      },
      stopped: () => false,
    },
    { concurrency: 8, batch: 20 },
  );
  expect(sent.sort((a, b) => a - b)).toEqual(Array.from({ length: 205 }, (_, i) => i + 1));
  expect(settled.flat().sort((a, b) => a - b)).toEqual(sent);
  expect(Math.max(...settled.map((b) => b.length))).toBeLessThanOrEqual(20);
  expect(maxInFlight).toBe(8);
});

test('after a stop no more is claimed, and what was claimed still goes out and is settled', async () => {
  const queue = queueOf(100, 10);
  let stopped = false;
  const sent: number[] = [];
  const settled: number[] = [];
  await runDrain<number, void>(
    {
      claim: () => queue.claim(),
      async send(entry) {
        if (entry === 5) stopped = true;
        await tick(2);
        sent.push(entry);
      },
      async settle(batch) {
        settled.push(...batch.map(({ entry }) => entry));
      },
      stopped: () => stopped,
    },
    { concurrency: 4, batch: 10 },
  );
  expect(sent.length).toBeLessThan(100);
  expect(sent.length % 10).toBe(0); // whole claims, nothing claimed is left behind
  expect(settled.sort((a, b) => a - b)).toEqual(sent.sort((a, b) => a - b));
});

test('a failing claim ends the drain with its error once the claimed entries are settled', async () => {
  let calls = 0;
  const settled: number[] = [];
  const run = runDrain<number, void>(
    {
      async claim() {
        if (++calls === 3) throw new Error('database gone');
        return [calls * 10 + 1, calls * 10 + 2];
      },
      send: () => tick(1),
      async settle(batch) {
        settled.push(...batch.map(({ entry }) => entry));
      },
      stopped: () => false,
    },
    { concurrency: 2, batch: 2 },
  );
  await expect(run).rejects.toThrow('database gone');
  expect(settled.sort()).toEqual([11, 12, 21, 22]);
});
