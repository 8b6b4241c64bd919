import React from 'react';
import { Alert, Form, Switch } from 'antd';
import { useMailTranslation } from '../../locale';
import { FormSection } from '../FormSection';
import { MicrosoftConnection } from '../MicrosoftConnection';
import { useAccountForm } from '../AccountFormContext';
import { requestedScopes } from '../providerCatalog';
import { SignInAppFields } from './MicrosoftOAuthFields';
import { ScopeFields } from './ScopeFields';

/** Microsoft 365 delegated: the Entra ID app, its redirect URI, permissions, the optional password fallback. */
export function Ms365DelegatedFields() {
  const { t } = useMailTranslation();
  const { account, connectMicrosoft, grantAdminConsent, reloadAccount, connecting, dirty } = useAccountForm();
  const allowRopc = Form.useWatch(['settings', 'allowRopc']);
  const preset = Form.useWatch(['settings', 'scopePreset']);
  const extra = Form.useWatch(['settings', 'extraScopes']);

  return (
    <>
      <FormSection
        title={t('Sign-in')}
        testId="section-sign-in"
        description={t('From Entra ID → App registrations → your app → Overview and → Certificates & secrets.')}
      >
        <SignInAppFields />
        <ScopeFields kind="delegated" />
        <Form.Item
          name={['settings', 'allowRopc']}
          label={t('Allow password sign-in as a fallback (ROPC)')}
          valuePropName="checked"
          tooltip={t('Only for mailboxes without multi-factor authentication; Microsoft discourages it.')}
        >
          <Switch />
        </Form.Item>
        {allowRopc && (!account || dirty || !account.settings?.allowRopc) && (
          <Alert
            type="info"
            showIcon
            style={{ marginTop: -8, marginBottom: 16 }}
            message={t('After saving, "Connection with Microsoft" also offers a sign-in with user name and password.')}
          />
        )}
      </FormSection>
      <FormSection title={t('Connection with Microsoft')} testId="section-microsoft">
        <MicrosoftConnection
          account={account}
          expected={requestedScopes('delegated', preset, extra)}
          onConnect={connectMicrosoft}
          onAdminConsent={grantAdminConsent}
          onConnected={reloadAccount}
          allowPassword={Boolean(allowRopc)}
          connecting={connecting}
          dirty={dirty}
        />
      </FormSection>
    </>
  );
}
