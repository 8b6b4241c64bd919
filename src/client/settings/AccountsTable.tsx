import React from 'react';
import { Button, Empty, Popconfirm, Space, Table, Tooltip, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import type { ColumnsType } from 'antd/es/table';
import { useMailTranslation } from '../locale';
import { AccountStatus, isSyncing } from './AccountStatus';
import { accountSyncs } from './providerCatalog';
import { ProviderIcon } from './ProviderIcon';
import { RelativeTime } from './RelativeTime';
import { useErrorSummary } from './errorSummary';
import type { MailAccount } from './types';

export interface AccountActions {
  onEdit(account: MailAccount): void;
  onTest(account: MailAccount): void;
  onSyncNow(account: MailAccount): void;
  onDelete(account: MailAccount): Promise<void>;
  onConnect(account: MailAccount): void;
}

function LastSync({ account }: { account: MailAccount }) {
  const { t } = useMailTranslation();
  if (!accountSyncs(account)) return <Typography.Text type="secondary">{t('Sends only')}</Typography.Text>;
  if (!account.lastSyncAt) return <Typography.Text type="secondary">{t('Never')}</Typography.Text>;
  const failedSince = account.lastSuccessAt !== account.lastSyncAt;
  return (
    <div style={{ whiteSpace: 'nowrap' }}>
      <RelativeTime value={account.lastSyncAt} />
      {failedSince && (
        <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12 }}>
          {account.lastSuccessAt ? (
            <>
              {t('Last success')} <RelativeTime value={account.lastSuccessAt} />
            </>
          ) : (
            t('Never succeeded')
          )}
        </Typography.Text>
      )}
    </div>
  );
}

function LastError({ account }: { account: MailAccount }) {
  const { t } = useMailTranslation();
  const known = useErrorSummary()(account.lastErrorCode);
  const summary = known && !known.generic ? known : null;
  if (!account.lastError) return null;
  const times =
    account.consecutiveFailures && account.consecutiveFailures > 1
      ? ` (${t('{{n}}× in a row', { n: account.consecutiveFailures })})`
      : '';
  const text = (
    <Typography.Text
      type="danger"
      ellipsis={summary ? true : { tooltip: account.lastError + times }}
      style={{ display: 'block', maxWidth: 230, marginLeft: 14, fontSize: 12, whiteSpace: 'nowrap' }}
      data-testid="account-last-error"
      data-code={account.lastErrorCode ?? undefined}
    >
      {summary ? summary.title : account.lastError}
      {times}
    </Typography.Text>
  );
  if (!summary) return text;
  // the short line in the user's language; what to do and the server's own words on hover
  const details = (
    <div data-testid="account-last-error-details">
      <div>{summary.advice}</div>
      <div style={{ marginTop: 6, opacity: 0.85 }}>{account.lastError}</div>
    </div>
  );
  return <Tooltip title={details}>{text}</Tooltip>;
}

export function AccountsTable({
  accounts,
  loading,
  pendingSyncs,
  actions,
  onAdd,
}: {
  onAdd(): void;
  accounts: MailAccount[];
  loading: boolean;
  pendingSyncs: ReadonlySet<string>;
  actions: AccountActions;
}) {
  const { t } = useMailTranslation();

  const columns: ColumnsType<MailAccount> = [
    {
      title: t('Account'),
      key: 'account',
      render: (_, a) => (
        <div style={{ display: 'flex', alignItems: 'center', gap: 12, minWidth: 180, whiteSpace: 'nowrap' }}>
          <ProviderIcon provider={a.provider} size={32} />
          <div style={{ minWidth: 0 }}>
            <Typography.Text strong style={{ display: 'block' }}>
              {a.title}
            </Typography.Text>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t(`provider.${a.provider}`)}
            </Typography.Text>
          </div>
        </div>
      ),
    },
    {
      title: t('Address'),
      dataIndex: 'address',
      key: 'address',
      render: (address: string, a) => (
        <span style={{ whiteSpace: 'nowrap' }}>
          <Typography.Text title={address}>{address}</Typography.Text>
          {a.aliases && a.aliases.length > 0 && (
            <Tooltip title={a.aliases.join(', ')}>
              <Typography.Text type="secondary" style={{ marginLeft: 6, fontSize: 12 }}>
                +{a.aliases.length}
              </Typography.Text>
            </Tooltip>
          )}
        </span>
      ),
    },
    {
      title: t('Status'),
      key: 'status',
      render: (_, a) => (
        <Space direction="vertical" size={0}>
          <AccountStatus account={a} pending={pendingSyncs.has(String(a.id))} />
          {!isSyncing(a, pendingSyncs.has(String(a.id))) && <LastError account={a} />}
          {a.provider === 'ms365-delegated' &&
            (a.status === 'needs-reconnect' || !a.settings?.grantedScopes?.length) && (
              <Button
                type="link"
                size="small"
                style={{ padding: 0, height: 'auto', marginLeft: 14 }}
                onClick={() => actions.onConnect(a)}
              >
                {t('Connect with Microsoft')}
              </Button>
            )}
        </Space>
      ),
    },
    {
      title: t('Last sync'),
      key: 'lastSyncAt',
      render: (_, a) => <LastSync account={a} />,
    },
    {
      title: t('Actions'),
      key: 'actions',
      render: (_, a) => {
        const syncing = isSyncing(a, pendingSyncs.has(String(a.id)));
        const syncBlocked = !accountSyncs(a)
          ? t('This account only sends mail.')
          : a.enabled === false
            ? t('The account is inactive.')
            : null;
        return (
          <Space size={10} wrap={false} style={{ whiteSpace: 'nowrap' }}>
            <Typography.Link onClick={() => actions.onEdit(a)}>{t('Edit')}</Typography.Link>
            <Typography.Link onClick={() => actions.onTest(a)}>{t('Test')}</Typography.Link>
            <Tooltip title={syncBlocked}>
              <Typography.Link
                disabled={Boolean(syncBlocked) || syncing}
                onClick={() => !syncBlocked && !syncing && actions.onSyncNow(a)}
                data-testid="sync-now"
              >
                {t('Sync now')}
              </Typography.Link>
            </Tooltip>
            <Popconfirm
              title={t('Delete "{{title}}"?', { title: a.title })}
              description={t('Its synced mail and queued outgoing mail are deleted too. This cannot be undone.')}
              okText={t('Delete')}
              okButtonProps={{ danger: true }}
              overlayStyle={{ maxWidth: 380 }}
              cancelText={t('Cancel')}
              onConfirm={() => actions.onDelete(a)}
            >
              <Typography.Link type="danger">{t('Delete')}</Typography.Link>
            </Popconfirm>
          </Space>
        );
      },
    },
  ];

  return (
    <Table
      data-testid="mail-accounts-table"
      rowKey={(a) => String(a.id)}
      loading={loading}
      columns={columns}
      dataSource={accounts}
      locale={{
        emptyText: (
          <Empty
            image={Empty.PRESENTED_IMAGE_SIMPLE}
            description={t('No mail accounts yet')}
            style={{ margin: '24px 0' }}
          >
            <Button icon={<PlusOutlined />} onClick={onAdd}>
              {t('Add account')}
            </Button>
          </Empty>
        ),
      }}
      pagination={false}
    />
  );
}
