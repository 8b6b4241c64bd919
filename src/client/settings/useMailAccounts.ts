import { useCallback, useEffect, useRef, useState } from 'react';
import { useAPIClient } from '@nocobase/client';
import { errorText, listAccounts } from './api';
import { accountSyncs } from './providerCatalog';
import type { MailAccount } from './types';

const POLL_MS = 5000;
/** how long after a change the list waits for the scheduler's first sync of a new account */
const WATCH_NEW_MS = 120000;

const awaitsFirstSync = (a: MailAccount) => a.status === 'new' && a.enabled !== false && accountSyncs(a);

/**
 * The account list; re-read every 5 s while an account syncs (or a sync started here is still running), and for
 * two minutes after a change while a new account waits for its first sync.
 */
export function useMailAccounts(pendingSyncs: ReadonlySet<string>) {
  const api = useAPIClient();
  const [accounts, setAccounts] = useState<MailAccount[]>([]);
  const [loading, setLoading] = useState(true);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const refresh = useCallback(
    async ({ silent = false }: { silent?: boolean } = {}) => {
      if (!silent) setLoading(true);
      try {
        const rows = await listAccounts(api);
        if (!mounted.current) return;
        setAccounts(rows);
        setError(null);
      } catch (e) {
        if (mounted.current) setError(errorText(e));
      } finally {
        if (mounted.current) {
          setLoading(false);
          setLoaded(true);
        }
      }
    },
    [api],
  );

  useEffect(() => {
    refresh();
  }, [refresh]);

  const [watchingNew, setWatchingNew] = useState(false);
  const watchNew = useCallback(() => setWatchingNew(true), []);
  useEffect(() => {
    if (!watchingNew) return;
    const timer = setTimeout(() => setWatchingNew(false), WATCH_NEW_MS);
    return () => clearTimeout(timer);
  }, [watchingNew]);

  const anySyncing = pendingSyncs.size > 0 || accounts.some((a) => a.syncProgress?.state === 'syncing');
  const poll = anySyncing || (watchingNew && accounts.some(awaitsFirstSync));
  useEffect(() => {
    if (!poll) return;
    const timer = setInterval(() => refresh({ silent: true }), POLL_MS);
    return () => clearInterval(timer);
  }, [poll, refresh]);

  return { accounts, loading, loaded, error, refresh, watchNew };
}
