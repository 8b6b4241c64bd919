import React from 'react';
import { Form, Radio, Switch } from 'antd';
import { useMailTranslation } from '../../locale';
import { FormSection } from '../FormSection';
import { SecretInput } from '../SecretInput';
import { useAccountForm } from '../AccountFormContext';
import { ServerFields } from './ServerFields';
import { MicrosoftOAuthConnection, MicrosoftOAuthFields } from './MicrosoftOAuthFields';

/** Password, or "Microsoft (OAuth)": XOAUTH2 with tokens from a delegated sign-in (Exchange Online). */
export function PasswordSection({ provider }: { provider: 'smtp-imap' | 'smtp' }) {
  const { t } = useMailTranslation();
  const { account } = useAccountForm();
  const microsoft = Form.useWatch(['settings', 'authMethod']) === 'microsoft-oauth';
  return (
    <>
      <FormSection title={t('Sign-in')} testId="section-sign-in">
        <Form.Item name={['settings', 'authMethod']} label={t('Sign in with')}>
          <Radio.Group
            optionType="button"
            options={[
              { value: 'password', label: t('Password') },
              { value: 'microsoft-oauth', label: t('Microsoft (OAuth)') },
            ]}
          />
        </Form.Item>
        {microsoft ? (
          <MicrosoftOAuthFields provider={provider} />
        ) : (
          <SecretInput
            name="password"
            label={t('Password')}
            required
            isSet={Boolean(account?.secretsSet?.password)}
            extra={t('Many providers (Gmail, iCloud, Yahoo) need an app password here instead of the normal one.')}
          />
        )}
      </FormSection>
      {microsoft && <MicrosoftOAuthConnection provider={provider} />}
    </>
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
      <PasswordSection provider="smtp-imap" />
    </>
  );
}
