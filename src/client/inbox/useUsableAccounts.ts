import { useCallback, useEffect, useState } from 'react';
import { useAPIClient } from '@nocobase/client';
import { errorText, listUsableAccounts } from './api';
import type { UsableAccount } from './types';

/** The mailboxes the signed-in user may use (all of them for an admin). */
export function useUsableAccounts() {
  const api = useAPIClient();
  const [accounts, setAccounts] = useState<UsableAccount[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const refresh = useCallback(async () => {
    try {
      setAccounts(await listUsableAccounts(api));
      setError(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setLoading(false);
    }
  }, [api]);
  useEffect(() => {
    refresh();
  }, [refresh]);
  return { accounts, loading, error, refresh };
}
