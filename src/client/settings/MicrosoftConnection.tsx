import React, { useState } from 'react';
import { Alert, Button, Input, Space, Tag, Typography, theme } from 'antd';
import { useAPIClient } from '@nocobase/client';
import { useMailTranslation } from '../locale';
import { connectWithPassword, errorText } from './api';
import { useMessage } from './feedback';
import { ProviderIcon } from './ProviderIcon';
import type { MailAccount, MailErrorInfo } from './types';

// Entra ID reports scopes with or without the Graph prefix; offline_access never shows up in a token.
function normalize(scope: string): string {
  return scope.replace(/^https:\/\/graph\.microsoft\.com\//i, '').toLowerCase();
}

export function missingScopes(expected: string[], granted: string[]): string[] {
  const have = new Set(granted.map(normalize));
  return expected.filter((s) => normalize(s) !== 'offline_access' && !have.has(normalize(s)));
}

/** The opt-in ROPC fallback: user name and password go to Entra ID once; nothing is stored. */
function PasswordSignIn({ account, onConnected }: { account: MailAccount; onConnected(): void }) {
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const api = useAPIClient();
  const message = useMessage();
  const [username, setUsername] = useState(account.address);
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<MailErrorInfo | null>(null);

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const result = await connectWithPassword(api, account.id, { username: username.trim(), password });
      if (result.ok) {
        setPassword('');
        message.success(t('Connected as {{user}}.', { user: result.connectedAs ?? username }));
        onConnected();
      } else {
        setError(result.error ?? { message: t('The sign-in failed.') });
      }
    } catch (e) {
      setError({ message: errorText(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div
      data-testid="password-sign-in"
      style={{ marginTop: 16, padding: 16, borderRadius: token.borderRadiusLG, background: token.colorFillQuaternary }}
    >
      <Typography.Text strong style={{ display: 'block' }}>
        {t('Sign in with a password instead')}
      </Typography.Text>
      <Typography.Paragraph type="secondary" style={{ marginBottom: 12 }}>
        {t(
          'For mailboxes without multi-factor authentication only. The password goes to Microsoft once and is not stored.',
        )}
      </Typography.Paragraph>
      <Space.Compact style={{ width: '100%' }}>
        <Input
          style={{ width: '45%' }}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          placeholder={t('User name')}
          autoComplete="off"
          aria-label={t('User name')}
        />
        <Input.Password
          style={{ width: '35%' }}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          placeholder={t('Password')}
          autoComplete="new-password"
          aria-label={t('Password')}
          onPressEnter={() => password && submit()}
        />
        <Button style={{ width: '20%' }} loading={busy} disabled={!password || !username.trim()} onClick={submit}>
          {t('Sign in')}
        </Button>
      </Space.Compact>
      {error && (
        <Alert type="error" showIcon style={{ marginTop: 12 }} message={error.message} description={error.hint} />
      )}
    </div>
  );
}

/** "Connect with Microsoft" for a delegated account: who is connected, the scopes granted and those missing. */
export function MicrosoftConnection({
  account,
  expected,
  dirty,
  connecting,
  allowPassword,
  onConnect,
  onAdminConsent,
  onConnected,
}: {
  account?: MailAccount;
  expected: string[];
  dirty: boolean;
  connecting: boolean;
  allowPassword: boolean;
  onConnect(): void;
  onAdminConsent(): void;
  onConnected(): void;
}) {
  const { t } = useMailTranslation();
  const settings = account?.settings ?? {};
  const granted: string[] = Array.isArray(settings.grantedScopes) ? settings.grantedScopes : [];
  const connected = granted.length > 0 || Boolean(settings.connectedAs);
  const missing: string[] = connected
    ? Array.isArray(settings.missingScopes) && !dirty
      ? settings.missingScopes
      : missingScopes(expected, granted)
    : [];
  const needsReconnect = account?.status === 'needs-reconnect';

  const label =
    !account || dirty
      ? t('Save and connect with Microsoft')
      : connected
        ? t('Reconnect with Microsoft')
        : t('Connect with Microsoft');

  return (
    <div data-testid="microsoft-connection">
      {needsReconnect && (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 16 }}
          message={t('Microsoft asks for a new sign-in.')}
          description={
            account?.lastError ||
            t('The stored sign-in expired or was revoked. Connect again to resume sending and syncing.')
          }
        />
      )}
      {connected ? (
        <div style={{ marginBottom: 16 }}>
          {settings.connectedAs && (
            <Typography.Paragraph style={{ marginBottom: 8 }}>
              {t('Connected as {{user}}.', { user: settings.connectedAs })}
            </Typography.Paragraph>
          )}
          {granted.length > 0 && (
            <div style={{ display: 'flex', gap: 8, alignItems: 'baseline', flexWrap: 'wrap' }}>
              <Typography.Text type="secondary">{t('Granted by Microsoft:')}</Typography.Text>
              <Space size={[4, 4]} wrap>
                {granted.map((s) => (
                  <Tag key={s} color="green" bordered={false} style={{ marginInlineEnd: 0 }}>
                    {s}
                  </Tag>
                ))}
              </Space>
            </div>
          )}
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
      <Space wrap>
        <Button
          type={connected && !needsReconnect ? 'default' : 'primary'}
          icon={<ProviderIcon provider="ms365-delegated" size={18} />}
          loading={connecting}
          onClick={onConnect}
          data-testid="connect-microsoft"
        >
          {label}
        </Button>
        {account && (
          <Button onClick={onAdminConsent} data-testid="admin-consent">
            {t('Grant admin consent')}
          </Button>
        )}
      </Space>
      {allowPassword && account && !dirty && <PasswordSignIn account={account} onConnected={onConnected} />}
    </div>
  );
}
