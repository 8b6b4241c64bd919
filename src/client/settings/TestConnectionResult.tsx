import React from 'react';
import { Alert, Spin, Typography, theme } from 'antd';
import { CheckCircleFilled, CloseCircleFilled } from '@ant-design/icons';
import { useMailTranslation } from '../locale';
import { MailErrorLines } from './errorSummary';
import type { TestResult, TestStep } from './types';

const STEP_LABELS: Record<string, string> = {
  smtp: 'Outgoing server (SMTP)',
  imap: 'Incoming server (IMAP)',
  config: 'Settings',
  token: 'Sign-in with Microsoft',
  mailbox: 'Mailbox',
  permissions: 'Permissions',
  folders: 'Folders',
  ses: 'Amazon SES',
  sendgrid: 'SendGrid',
};

type T = (key: string, options?: Record<string, unknown>) => string;

function folderList(step: TestStep, t: T): string {
  const folders = step.folders ?? [];
  const names = folders
    .slice(0, 6)
    .map((f) => f.path)
    .join(', ');
  return t('{{n}} folders found: {{names}}', { n: folders.length, names: names + (folders.length > 6 ? ', …' : '') });
}

/** One line on what a passed step found. */
function stepSummary(step: TestStep, t: T): string {
  const detail = step.detail ?? {};
  switch (step.name) {
    case 'imap':
      return step.folders?.length ? `${t('Signed in.')} ${folderList(step, t)}` : t('Connected and signed in.');
    case 'folders':
      return step.folders?.length ? folderList(step, t) : t('No folders found.');
    case 'config':
      return t('The settings are complete.');
    case 'token':
      return t('Microsoft issued an access token.');
    case 'mailbox': {
      if (detail.verified === false)
        return t('The mailbox cannot be checked with these permissions; sending shows whether it works.');
      const name = detail.mail || detail.userPrincipalName || detail.displayName || detail.id;
      return name ? t('Mailbox {{name}} found.', { name }) : t('The mailbox was found.');
    }
    case 'permissions':
      return Array.isArray(detail.granted) && detail.granted.length
        ? t('Granted: {{scopes}}', { scopes: detail.granted.join(', ') })
        : t('Everything needed is granted.');
    case 'ses':
      return step.account?.summary || t('The access key works and sending is enabled.');
    case 'sendgrid':
      return step.scopes?.length
        ? t('The API key works; scopes: {{scopes}}', { scopes: step.scopes.join(', ') })
        : t('The API key works.');
    default:
      return t('Connected and signed in.');
  }
}

function StepRow({ step }: { step: TestStep }) {
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const label = STEP_LABELS[step.name] ? t(STEP_LABELS[step.name]) : step.name;
  return (
    <div
      data-testid={`test-step-${step.name}`}
      data-ok={String(step.ok)}
      style={{ display: 'flex', gap: 12, padding: '12px 16px', borderTop: `1px solid ${token.colorBorderSecondary}` }}
    >
      <span style={{ fontSize: 18, lineHeight: '22px' }}>
        {step.ok ? (
          <CheckCircleFilled style={{ color: token.colorSuccess }} aria-label={t('Passed')} />
        ) : (
          <CloseCircleFilled style={{ color: token.colorError }} aria-label={t('Failed')} />
        )}
      </span>
      <div style={{ flex: 1, minWidth: 0 }}>
        <div style={{ display: 'flex', justifyContent: 'space-between', gap: 12 }}>
          <Typography.Text strong>{label}</Typography.Text>
          {typeof step.ms === 'number' && (
            <Typography.Text type="secondary" style={{ whiteSpace: 'nowrap' }}>
              {t('{{ms}} ms', { ms: step.ms })}
            </Typography.Text>
          )}
        </div>
        {step.ok && (
          <Typography.Text type="secondary" style={{ display: 'block' }}>
            {stepSummary(step, t)}
          </Typography.Text>
        )}
        {step.ok && step.name === 'ses' && step.account?.productionAccess === false && (
          <Typography.Text type="warning" style={{ display: 'block' }}>
            {t(
              'The SES account is in the sandbox: it sends only to verified addresses. Request production access in the AWS console.',
            )}
          </Typography.Text>
        )}
        {!step.ok && step.error && <MailErrorLines error={step.error} />}
      </div>
    </div>
  );
}

/** The outcome of "Test connection": one line per server with a check or a cross, the error and what to do. */
export function TestConnectionResult({
  result,
  error,
  loading,
}: {
  result?: TestResult | null;
  error?: string | null;
  loading?: boolean;
}) {
  const { t } = useMailTranslation();
  const { token } = theme.useToken();

  if (loading) {
    return (
      <div data-testid="test-connection-result" data-state="running" style={{ padding: '16px 0', textAlign: 'center' }}>
        <Spin size="small" /> <Typography.Text type="secondary">{t('Testing the connection…')}</Typography.Text>
      </div>
    );
  }
  if (error) {
    return (
      <div data-testid="test-connection-result" data-state="failed">
        <Alert type="error" showIcon message={t('The test could not run')} description={error} />
      </div>
    );
  }
  if (!result) return null;

  const steps = result.steps ?? [];
  return (
    <div
      data-testid="test-connection-result"
      data-state={result.ok ? 'ok' : 'failed'}
      style={{
        border: `1px solid ${token.colorBorderSecondary}`,
        borderRadius: token.borderRadiusLG,
        overflow: 'hidden',
      }}
    >
      <div
        style={{
          padding: '10px 16px',
          background: result.ok ? token.colorSuccessBg : token.colorErrorBg,
          display: 'flex',
          alignItems: 'center',
          gap: 8,
        }}
      >
        {result.ok ? (
          <CheckCircleFilled style={{ color: token.colorSuccess }} />
        ) : (
          <CloseCircleFilled style={{ color: token.colorError }} />
        )}
        <Typography.Text strong>
          {result.ok ? t('The connection works.') : t('The connection test failed.')}
        </Typography.Text>
      </div>
      {steps.map((step) => (
        <StepRow key={step.name} step={step} />
      ))}
      {!steps.length && result.error && (
        <div style={{ padding: '12px 16px', borderTop: `1px solid ${token.colorBorderSecondary}` }}>
          <MailErrorLines error={result.error} />
        </div>
      )}
    </div>
  );
}
