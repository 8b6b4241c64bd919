// Counts the error and warning lines NocoBase and Sequelize print during a bench (instead of flooding the output
// with them) and lists them afterwards by kind. BENCH_VERBOSE=1 lets them through as well.
import { table } from './metrics';

const counts = new Map<string, number>();
let installed = false;

function normalise(text: string): string {
  let message = text;
  try {
    const parsed = JSON.parse(text);
    message = [parsed.message, parsed.error?.parent?.code, parsed.error?.name].filter(Boolean).join(' | ');
  } catch {
    // a plain line
  }
  return message
    .replace(/\n[\s\S]*$/, '')
    .replace(/<[^<>\s]+@[^<>\s]+>/g, '<message-id>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/\b\d+\b/g, 'N')
    .slice(0, 150);
}

function isNoise(line: string): boolean {
  return /"level":"(error|warn)"/.test(line) || /^(Committing|Rolling back) transaction/.test(line) || /^\(node:\d+\) /.test(line);
}

export function tapLogs() {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: any[]) => boolean;
    (stream as any).write = (chunk: any, ...rest: any[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      const lines = text.split('\n');
      const kept: string[] = [];
      for (const line of lines) {
        if (line && isNoise(line)) {
          const key = normalise(line);
          counts.set(key, (counts.get(key) ?? 0) + 1);
          if (process.env.BENCH_VERBOSE) kept.push(line);
        } else {
          kept.push(line);
        }
      }
      const out = kept.join('\n');
      if (!out) return true;
      return write(out, ...rest);
    };
  }
}

export function logCounts(): Map<string, number> {
  return new Map(counts);
}

export function resetLogCounts() {
  counts.clear();
}

export function printLogCounts(title = 'errors and warnings logged during the run (by kind)') {
  if (!counts.size) {
    console.log(`\n${title}: none`);
    return;
  }
  table(title, ['message (ids replaced)', 'count'], [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, n]));
}
