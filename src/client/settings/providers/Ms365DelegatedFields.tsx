import React from 'react';
import { Alert, Form, Switch } from 'antd';
import { useMailTranslation } from '../../locale';
import { FormSection } from '../FormSection';
import { SecretInput } from '../SecretInput';
import { RedirectUri } from '../RedirectUri';
import { MicrosoftConnection } from '../MicrosoftConnection';
import { useAccountForm } from '../AccountFormContext';
import { requestedScopes } from '../providerCatalog';
import { TenantAndClient } from './Ms365AppFields';
import { ScopeFields } from './ScopeFields';

/** Microsoft 365 delegated: the Entra ID app, its redirect URI, permissions, the optional password fallback. */
export function Ms365DelegatedFields() {
  const { t } = useMailTranslation();
  const { account, connectMicrosoft, connecting, dirty } = useAccountForm();
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
        <TenantAndClient allowCommon />
        <SecretInput
          name="clientSecret"
          label={t('Client secret')}
          removable
          isSet={Boolean(account?.secretsSet?.clientSecret)}
          placeholder={t('Optional for public client apps')}
          extra={t('The secret value, not the secret ID.')}
        />
        <RedirectUri />
        <ScopeFields kind="delegated" />
        <Form.Item
          name={['settings', 'allowRopc']}
          label={t('Allow password sign-in as a fallback (ROPC)')}
          valuePropName="checked"
          tooltip={t('Only for mailboxes without multi-factor authentication; Microsoft discourages it.')}
        >
          <Switch />
        </Form.Item>
        {allowRopc && (
          <>
            <Alert
              type="warning"
              showIcon
              style={{ marginTop: -8, marginBottom: 16 }}
              message={t('The mailbox password is stored (encrypted) and used when the sign-in with Microsoft cannot be refreshed.')}
            />
            <SecretInput
              name="ropcPassword"
              label={t('Mailbox password')}
              removable
              isSet={Boolean(account?.secretsSet?.ropcPassword)}
            />
          </>
        )}
      </FormSection>
      <FormSection title={t('Connection with Microsoft')} testId="section-microsoft">
        <MicrosoftConnection
          account={account}
          expected={requestedScopes('delegated', preset, extra)}
          onConnect={connectMicrosoft}
          connecting={connecting}
          dirty={dirty}
        />
      </FormSection>
    </>
  );
}
