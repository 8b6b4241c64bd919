import React from 'react';
import { Form, Select } from 'antd';
import { useMailTranslation } from '../../locale';
import { FormSection } from '../FormSection';
import { SecretInput } from '../SecretInput';
import { useAccountForm } from '../AccountFormContext';

/** SendGrid: API key and optional categories. */
export function SendgridFields() {
  const { t } = useMailTranslation();
  const { account } = useAccountForm();
  return (
    <>
      <FormSection title={t('Sending')} testId="section-sending">
        <Form.Item
          name={['settings', 'categories']}
          label={t('Categories')}
          tooltip={t('SendGrid categories added to every mail, for its statistics.')}
        >
          <Select mode="tags" open={false} suffixIcon={null} tokenSeparators={[',']} placeholder={t('Optional')} />
        </Form.Item>
      </FormSection>
      <FormSection
        title={t('Sign-in')}
        testId="section-sign-in"
        description={t('Create an API key with the "Mail Send" permission under Settings → API Keys in SendGrid.')}
      >
        <SecretInput
          name="apiKey"
          label={t('API key')}
          required
          isSet={Boolean(account?.secretsSet?.apiKey)}
          placeholder="SG.…"
          rules={[
            {
              warningOnly: true,
              validator: async (_: unknown, v: unknown) => {
                if (typeof v === 'string' && v && !v.startsWith('SG.'))
                  throw new Error(t('SendGrid API keys start with "SG.".'));
              },
            },
          ]}
        />
      </FormSection>
    </>
  );
}
