import React from 'react';
import { Form, Switch } from 'antd';
import { useMailTranslation } from '../../locale';
import { FormSection } from '../FormSection';
import { SecretInput } from '../SecretInput';
import { useAccountForm } from '../AccountFormContext';
import { ServerFields } from './ServerFields';

export function PasswordSection() {
  const { t } = useMailTranslation();
  const { account } = useAccountForm();
  return (
    <FormSection title={t('Sign-in')} testId="section-sign-in">
      <SecretInput
        name="password"
        label={t('Password')}
        required
        isSet={Boolean(account?.secretsSet?.password)}
        extra={t('Many providers (Gmail, iCloud, Yahoo) need an app password here instead of the normal one.')}
      />
    </FormSection>
  );
}

/** SMTP/IMAP: outgoing server, incoming server, password. */
export function SmtpImapFields() {
  const { t } = useMailTranslation();
  return (
    <>
      <FormSection title={t('Outgoing server')} testId="section-outgoing">
        <ServerFields kind="smtp" />
      </FormSection>
      <FormSection title={t('Incoming server')} testId="section-incoming">
        <ServerFields kind="imap" />
        <Form.Item
          name={['settings', 'appendSent']}
          label={t('Keep a copy of sent mail in the Sent folder')}
          valuePropName="checked"
          tooltip={t('Turn it off when the server files sent mail by itself (Gmail and Microsoft 365 do).')}
        >
          <Switch />
        </Form.Item>
      </FormSection>
      <PasswordSection />
    </>
  );
}
