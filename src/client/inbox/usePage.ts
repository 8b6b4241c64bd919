import { useCallback, useState } from 'react';
import { errorText } from './api';
import type { Page } from './types';

/** One page of a list as state: its rows, the total, and whether and how the last load failed. */
export function usePage<T>(initiallyLoading = false) {
  const [rows, setRows] = useState<T[]>([]);
  const [total, setTotal] = useState(0);
  const [loading, setLoading] = useState(initiallyLoading);
  const [error, setError] = useState<string | null>(null);
  /** Loads a page; `silent` keeps the current rows on show without a loading state (background refresh). */
  const load = useCallback(async (fetchPage: () => Promise<Page<T>>, { silent = false } = {}) => {
    if (!silent) setLoading(true);
    try {
      const result = await fetchPage();
      setRows(result.rows);
      setTotal(result.count);
      setError(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setLoading(false);
    }
  }, []);
  return { rows, setRows, total, loading, error, load };
}
