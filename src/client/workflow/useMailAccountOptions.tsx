import React, { useEffect, useState } from 'react';
import { Space, Typography } from 'antd';
import { useAPIClient } from '@nocobase/client';
import { ProviderIcon } from '../settings/ProviderIcon';

export interface WorkflowMailAccount {
  id: string | number;
  title?: string;
  address: string;
  provider: string;
  aliases?: Array<string | { address?: string; name?: string }>;
  enabled?: boolean;
}

function errorOf(e: unknown): string {
  const err = e as any;
  return String(err?.response?.data?.errors?.[0]?.message ?? err?.message ?? e);
}

/** The mail accounts for the node's account picker (admins: `mailAccounts:list`, others: the usable ones). */
export function useMailAccounts() {
  const api = useAPIClient();
  const [accounts, setAccounts] = useState<WorkflowMailAccount[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    (async () => {
      try {
        let rows: WorkflowMailAccount[];
        try {
          const res = await api.request<WorkflowMailAccount[]>({
            url: 'mailAccounts:list',
            method: 'get',
            params: { pageSize: 200 },
            skipNotify: true,
          });
          rows = res.data.data ?? [];
        } catch (e: any) {
          if (e?.response?.status !== 403) throw e;
          const res = await api.request<WorkflowMailAccount[]>({ url: 'mailAccounts:listUsable', method: 'get', skipNotify: true });
          rows = res.data.data ?? [];
        }
        if (alive) setAccounts(rows);
      } catch (e) {
        if (alive) setError(errorOf(e));
      } finally {
        if (alive) setLoading(false);
      }
    })();
    return () => {
      alive = false;
    };
  }, [api]);

  return { accounts, loading, error };
}

export function aliasAddresses(account: WorkflowMailAccount | undefined): string[] {
  if (!account) return [];
  const aliases = (account.aliases ?? [])
    .map((a) => (typeof a === 'string' ? a : a?.address ?? ''))
    .filter((a): a is string => Boolean(a) && a.toLowerCase() !== account.address.toLowerCase());
  return [account.address, ...aliases];
}

/** "Support desk <support@example.com>" with the provider's mark, as the option of a Select. */
export function accountOption(account: WorkflowMailAccount, disabledText?: string) {
  const title = account.title?.trim();
  const text = title && title !== account.address ? `${title} <${account.address}>` : account.address;
  return {
    value: account.id,
    title: text,
    text,
    label: (
      <Space size={8} data-testid={`mail-account-option-${account.id}`}>
        <ProviderIcon provider={account.provider} size={20} />
        <span>{text}</span>
        {account.enabled === false && disabledText ? <Typography.Text type="secondary">({disabledText})</Typography.Text> : null}
      </Space>
    ),
  };
}
