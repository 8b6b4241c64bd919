import React, { useCallback, useEffect, useState } from 'react';
import { Alert, Badge, Table, Tag } from 'antd';
import { useAPIClient } from '@nocobase/client';
import { useMailTranslation } from '../locale';

export interface MailAccountRow {
  id: string;
  title: string;
  provider: string;
  address: string;
  status: string;
  lastSuccessAt?: string;
  lastError?: string;
}

const STATUS_BADGE: Record<string, 'success' | 'error' | 'warning' | 'processing' | 'default'> = {
  ok: 'success',
  error: 'error',
  'needs-reconnect': 'warning',
  syncing: 'processing',
  new: 'default',
};

export function AccountsTable() {
  const { t } = useMailTranslation();
  const api = useAPIClient();
  const [rows, setRows] = useState<MailAccountRow[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const res = await api.request<MailAccountRow[]>({ url: 'mailAccounts:list', method: 'get' });
      setRows(res.data.data);
      setError(null);
    } catch (e: any) {
      setError(e?.response?.data?.errors?.[0]?.message ?? e?.message ?? String(e));
    } finally {
      setLoading(false);
    }
  }, [api]);

  useEffect(() => {
    load();
  }, [load]);

  const columns = [
    { title: t('Name'), dataIndex: 'title', key: 'title' },
    { title: t('Provider'), dataIndex: 'provider', key: 'provider', render: (p: string) => <Tag>{t(`provider.${p}`)}</Tag> },
    { title: t('Address'), dataIndex: 'address', key: 'address' },
    {
      title: t('Status'),
      dataIndex: 'status',
      key: 'status',
      render: (s: string) => <Badge status={STATUS_BADGE[s] ?? 'default'} text={t(`status.${s}`)} />,
    },
    {
      title: t('Last sync'),
      dataIndex: 'lastSuccessAt',
      key: 'lastSuccessAt',
      render: (d?: string) => (d ? new Date(d).toLocaleString() : '—'),
    },
  ];

  return (
    <>
      {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 16 }} />}
      <Table
        data-testid="mail-accounts-table"
        rowKey="id"
        loading={loading}
        columns={columns}
        dataSource={rows}
        locale={{ emptyText: t('No mail accounts yet') }}
        pagination={false}
      />
    </>
  );
}
