import React from 'react';
import { Col, Form, Input, Row } from 'antd';
import { useMailTranslation } from '../../locale';
import { FormSection } from '../FormSection';
import { SecretInput } from '../SecretInput';
import { useAccountForm } from '../AccountFormContext';
import * as rules from '../formRules';
import { ScopeFields } from './ScopeFields';

export function TenantAndClient({ allowCommon }: { allowCommon: boolean }) {
  const { t } = useMailTranslation();
  return (
    <Row gutter={16}>
      <Col xs={24} md={12}>
        <Form.Item
          name={['settings', 'tenantId']}
          label={t('Directory (tenant) ID')}
          rules={[rules.required(t, t('Directory (tenant) ID')), rules.tenant(t, { allowCommon })]}
        >
          <Input placeholder="00000000-0000-0000-0000-000000000000" autoComplete="off" spellCheck={false} />
        </Form.Item>
      </Col>
      <Col xs={24} md={12}>
        <Form.Item
          name={['settings', 'clientId']}
          label={t('Application (client) ID')}
          rules={[rules.required(t, t('Application (client) ID')), rules.guid(t)]}
        >
          <Input placeholder="00000000-0000-0000-0000-000000000000" autoComplete="off" spellCheck={false} />
        </Form.Item>
      </Col>
    </Row>
  );
}

/** Microsoft 365 app-only: the Entra ID app, its secret, the mailbox it acts on and its permissions. */
export function Ms365AppFields() {
  const { t } = useMailTranslation();
  const { account } = useAccountForm();
  return (
    <FormSection
      title={t('Sign-in')}
      testId="section-sign-in"
      description={t('From Entra ID → App registrations → your app → Overview and → Certificates & secrets.')}
    >
      <TenantAndClient allowCommon={false} />
      <SecretInput
        name="clientSecret"
        label={t('Client secret')}
        required
        isSet={Boolean(account?.secretsSet?.clientSecret)}
        extra={t('The secret value, not the secret ID.')}
      />
      <Form.Item
        name={['settings', 'mailbox']}
        label={t('Mailbox')}
        tooltip={t('The user or shared mailbox the app reads and sends for: its address or object ID.')}
        rules={[
          {
            validator: async (_, value) => {
              const v = String(value ?? '').trim();
              if (v && v.includes('@') && !rules.isAddress(v))
                throw new Error(t('Enter a valid e-mail address, such as name@example.com.'));
            },
          },
        ]}
      >
        <Input placeholder={t('Same as the e-mail address')} autoComplete="off" spellCheck={false} />
      </Form.Item>
      <ScopeFields kind="app" />
    </FormSection>
  );
}
