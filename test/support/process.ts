import type { ChildProcess } from 'child_process';

/**
 * Stops a child process: sends `signal`, waits up to `graceMs` for it to exit, then SIGKILLs it and waits for
 * that exit. A child that has already exited (or is undefined) is left alone.
 */
export async function stopProcess(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals,
  graceMs = 15_000,
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
}
