import React, { useCallback, useEffect, useRef, useState } from 'react';
import { Alert, Button, Card, Space, Typography } from 'antd';
import { PlusOutlined, ReloadOutlined } from '@ant-design/icons';
import { useMailTranslation } from '../locale';
import { AccountDrawer } from './AccountDrawer';
import { AccountsTable } from './AccountsTable';
import { FeedbackProvider } from './feedback';
import { TestAccountModal } from './TestAccountModal';
import { useAccountActions } from './useAccountActions';
import { useMailAccounts } from './useMailAccounts';
import type { MailAccount } from './types';

// The OAuth callback sends the admin back here with ?connected=<id> or ?oauthError=<message>.
function readOAuthReturn(): { connected?: string; oauthError?: string } {
  const params = new URLSearchParams(window.location.search);
  const out = { connected: params.get('connected') ?? undefined, oauthError: params.get('oauthError') ?? undefined };
  if (out.connected || out.oauthError) {
    params.delete('connected');
    params.delete('oauthError');
    const rest = params.toString();
    window.history.replaceState(
      window.history.state,
      '',
      window.location.pathname + (rest ? `?${rest}` : '') + window.location.hash,
    );
  }
  return out;
}

function MailSettingsContent() {
  const { t } = useMailTranslation();
  const [pendingSyncs, setPendingSyncs] = useState<ReadonlySet<string>>(new Set());
  const { accounts, loading, loaded, error, refresh, watchNew } = useMailAccounts(pendingSyncs);
  const [drawer, setDrawer] = useState<{ open: boolean; account: MailAccount | null; key: number }>({
    open: false,
    account: null,
    key: 0,
  });
  const [testing, setTesting] = useState<MailAccount | null>(null);
  const [oauth] = useState(readOAuthReturn);
  const [oauthError, setOauthError] = useState(oauth.oauthError);
  const announced = useRef(false);

  const openAdd = useCallback(() => setDrawer((d) => ({ open: true, account: null, key: d.key + 1 })), []);
  const openEdit = useCallback(
    (account: MailAccount) => setDrawer((d) => ({ open: true, account, key: d.key + 1 })),
    [],
  );
  const closeDrawer = useCallback(() => setDrawer((d) => ({ ...d, open: false })), []);
  const actions = useAccountActions({ refresh, setPendingSyncs, onEdit: openEdit, onTest: setTesting });

  useEffect(() => {
    if (!oauth.connected || !loaded || announced.current) return;
    announced.current = true;
    const account = accounts.find((a) => String(a.id) === oauth.connected);
    actions.announceConnected(account?.title ?? oauth.connected);
  }, [oauth.connected, loaded, accounts, actions]);

  return (
    <Card bordered={false} data-testid="mail-settings">
      <div
        style={{
          display: 'flex',
          justifyContent: 'space-between',
          alignItems: 'flex-start',
          gap: 16,
          marginBottom: 16,
        }}
      >
        <div style={{ minWidth: 0 }}>
          <Typography.Title level={4} style={{ marginTop: 0, marginBottom: 4 }}>
            {t('Mail accounts')}
          </Typography.Title>
          <Typography.Text type="secondary">
            {t('Connect the mailboxes this workspace sends and receives mail through.')}
          </Typography.Text>
        </div>
        <Space>
          <Button icon={<ReloadOutlined />} onClick={() => refresh()}>
            {t('Refresh')}
          </Button>
          <Button type="primary" icon={<PlusOutlined />} onClick={openAdd} data-testid="add-account">
            {t('Add account')}
          </Button>
        </Space>
      </div>
      {oauthError && (
        <Alert
          type="error"
          showIcon
          closable
          onClose={() => setOauthError(undefined)}
          message={t('Connecting with Microsoft failed')}
          description={oauthError}
          style={{ marginBottom: 16 }}
          data-testid="oauth-error"
        />
      )}
      {error && (
        <Alert
          type="error"
          showIcon
          message={t('The accounts could not be loaded.')}
          description={error}
          style={{ marginBottom: 16 }}
        />
      )}
      <AccountsTable
        accounts={accounts}
        loading={loading}
        pendingSyncs={pendingSyncs}
        actions={actions}
        onAdd={openAdd}
      />
      <AccountDrawer
        key={drawer.key}
        open={drawer.open}
        account={drawer.account}
        onClose={closeDrawer}
        onSaved={() => {
          watchNew();
          refresh({ silent: true });
        }}
      />
      <TestAccountModal account={testing} onClose={() => setTesting(null)} />
    </Card>
  );
}

/** Settings → E-Mail: the mail accounts of the workspace. */
export function MailSettingsPage() {
  return (
    <FeedbackProvider>
      <MailSettingsContent />
    </FeedbackProvider>
  );
}
