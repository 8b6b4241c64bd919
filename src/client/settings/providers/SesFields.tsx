import React from 'react';
import { AutoComplete, Col, Form, Input, Row } from 'antd';
import { useMailTranslation } from '../../locale';
import { FormSection } from '../FormSection';
import { SecretInput } from '../SecretInput';
import { useAccountForm } from '../AccountFormContext';
import { AWS_REGIONS } from '../providerCatalog';
import * as rules from '../formRules';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;

/** Amazon SES: region, IAM access key, optional configuration set. */
export function SesFields() {
  const { t } = useMailTranslation();
  const { account } = useAccountForm();
  return (
    <>
      <FormSection title={t('Sending')} testId="section-sending">
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item
              name={['settings', 'region']}
              label={t('AWS region')}
              rules={[
                rules.required(t, t('AWS region')),
                {
                  validator: async (_, v) => {
                    if (v && !REGION.test(String(v).trim()))
                      throw new Error(t('Enter an AWS region such as eu-central-1.'));
                  },
                },
              ]}
            >
              <AutoComplete
                options={AWS_REGIONS.map((r) => ({ value: r }))}
                filterOption={(input, option) => String(option?.value ?? '').includes(input.trim().toLowerCase())}
                placeholder="eu-central-1"
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item
              name={['settings', 'configurationSetName']}
              label={t('Configuration set')}
              tooltip={t('Optional: the SES configuration set for event publishing (bounces, complaints).')}
            >
              <Input autoComplete="off" spellCheck={false} placeholder={t('Optional')} />
            </Form.Item>
          </Col>
        </Row>
      </FormSection>
      <FormSection
        title={t('Sign-in')}
        testId="section-sign-in"
        description={t('An IAM user or role key with the permission ses:SendRawEmail for this address.')}
      >
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item
              name={['settings', 'accessKeyId']}
              label={t('Access key ID')}
              rules={[
                rules.required(t, t('Access key ID')),
                {
                  validator: async (_, v) => {
                    if (v && !ACCESS_KEY_ID.test(String(v).trim()))
                      throw new Error(
                        t('An access key ID has capital letters and digits only, such as AKIAIOSFODNN7EXAMPLE.'),
                      );
                  },
                },
              ]}
            >
              <Input autoComplete="off" spellCheck={false} placeholder="AKIA…" />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <SecretInput
              name="secretAccessKey"
              label={t('Secret access key')}
              required
              isSet={Boolean(account?.secretsSet?.secretAccessKey)}
            />
          </Col>
        </Row>
      </FormSection>
    </>
  );
}
