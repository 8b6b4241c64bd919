import React from 'react';
import { Alert, Button, Space, Tag, Typography } from 'antd';
import { useMailTranslation } from '../locale';
import { ProviderIcon } from './ProviderIcon';
import type { MailAccount } from './types';

// Entra ID reports scopes with or without the Graph prefix; offline_access is implied by the refresh token.
function normalize(scope: string): string {
  return scope.replace(/^https:\/\/graph\.microsoft\.com\//i, '').toLowerCase();
}

export function missingScopes(expected: string[], granted: string[]): string[] {
  const have = new Set(granted.map(normalize));
  return expected.filter((s) => normalize(s) !== 'offline_access' && !have.has(normalize(s)));
}

/** "Connect with Microsoft" for a delegated account, with the scopes Microsoft granted and those it did not. */
export function MicrosoftConnection({
  account,
  expected,
  onConnect,
  connecting,
  dirty,
}: {
  account?: MailAccount;
  expected: string[];
  onConnect(): void;
  connecting: boolean;
  dirty: boolean;
}) {
  const { t } = useMailTranslation();
  const granted: string[] = Array.isArray(account?.settings?.grantedScopes) ? account!.settings!.grantedScopes : [];
  const connected = granted.length > 0;
  const missing = connected ? missingScopes(expected, granted) : [];
  const needsReconnect = account?.status === 'needs-reconnect';

  const button = (
    <Button
      type={connected && !needsReconnect ? 'default' : 'primary'}
      icon={<ProviderIcon provider="ms365-delegated" size={18} />}
      loading={connecting}
      onClick={onConnect}
      data-testid="connect-microsoft"
    >
      {!account || dirty ? t('Save and connect with Microsoft') : connected ? t('Reconnect with Microsoft') : t('Connect with Microsoft')}
    </Button>
  );

  return (
    <div data-testid="microsoft-connection">
      {needsReconnect && (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 16 }}
          message={t('Microsoft asks for a new sign-in.')}
          description={account?.lastError || t('The stored sign-in expired or was revoked. Connect again to resume sending and syncing.')}
        />
      )}
      {connected ? (
        <div style={{ marginBottom: 16 }}>
          <Typography.Text type="secondary">{t('Granted by Microsoft:')}</Typography.Text>{' '}
          <Space size={[4, 4]} wrap>
            {granted.map((s) => (
              <Tag key={s} color="green" bordered={false}>
                {s}
              </Tag>
            ))}
          </Space>
        </div>
      ) : (
        <Typography.Paragraph type="secondary">
          {account
            ? t('Not connected yet. Sign in with the Microsoft account of this mailbox and accept the permissions.')
            : t('After saving, sign in with the Microsoft account of this mailbox and accept the permissions.')}
        </Typography.Paragraph>
      )}
      {missing.length > 0 && (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 16 }}
          message={t('Missing permissions: {{scopes}}', { scopes: missing.join(', ') })}
          description={t('Reconnect and accept them, or have an administrator grant consent for the app in Entra ID.')}
        />
      )}
      {button}
    </div>
  );
}
