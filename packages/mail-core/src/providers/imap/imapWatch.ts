import type { ImapFlow } from 'imapflow';
import type { FolderChangeListener } from '../../types';
import type { RuntimeOptions } from '../accountConfig';
import { openImapConnection, type ImapConnectionConfig } from './imapConnection';

const MAX_BACKOFF_MS = 60_000;

/**
 * Watches one folder with IDLE on a connection of its own and calls `onChange` for new, expunged
 * and re-flagged messages. A dropped connection is reopened with backoff, and `onChange` fires
 * once after reopening, since anything may have happened meanwhile. Resolves once IDLE runs.
 */
export async function watchFolder(config: ImapConnectionConfig, runtime: RuntimeOptions, folder: string, onChange: FolderChangeListener): Promise<() => Promise<void>> {
  let stopped = false;
  let client: ImapFlow | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let backoff = 1000;

  const notify = (kind: 'exists' | 'expunge' | 'flags') => {
    if (stopped) return;
    try {
      onChange({ folder, kind });
    } catch {
      // a listener's own failure must not end the watch
    }
  };

  const start = async (): Promise<void> => {
    const conn = await openImapConnection(config, runtime, { idle: true });
    const c = conn.client;
    client = c;
    c.on('exists', () => notify('exists'));
    c.on('expunge', () => notify('expunge'));
    c.on('flags', () => notify('flags'));
    c.on('close', () => {
      if (stopped || client !== c) return;
      client = undefined;
      scheduleRestart();
    });
    try {
      await c.mailboxOpen(folder, { readOnly: true });
    } catch (err) {
      client = undefined;
      c.close();
      throw err;
    }
    c.idle().catch(() => undefined);
  };

  const scheduleRestart = () => {
    if (stopped) return;
    retryTimer = setTimeout(() => {
      start().then(
        () => {
          backoff = 1000;
          notify('exists');
        },
        () => {
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          scheduleRestart();
        },
      );
    }, backoff);
    retryTimer.unref?.();
  };

  await start();

  return async () => {
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    const c = client;
    client = undefined;
    if (c) await c.logout().catch(() => c.close());
  };
}
