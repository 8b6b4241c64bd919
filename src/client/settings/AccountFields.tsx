import React from 'react';
import { Alert, Col, Form, Input, Row, Select, Switch, Tooltip } from 'antd';
import { useMailTranslation } from '../locale';
import { FormSection } from './FormSection';
import { useAccountForm } from './AccountFormContext';
import { presetForAddress, SERVER_PRESETS } from './providerCatalog';
import * as rules from './formRules';

function usePresets() {
  const form = Form.useFormInstance();
  const apply = (key: string) => {
    const preset = SERVER_PRESETS.find((p) => p.key === key);
    if (!preset) return;
    form.setFieldValue(['settings', 'smtp'], { ...form.getFieldValue(['settings', 'smtp']), ...preset.smtp });
    if (form.getFieldValue(['settings', 'imap']) !== undefined) {
      form.setFieldValue(['settings', 'imap'], { ...form.getFieldValue(['settings', 'imap']), ...preset.imap });
    }
  };
  // A known address domain fills in its servers, as long as the admin has not entered any.
  const detect = (address: string) => {
    const preset = presetForAddress(address);
    if (!preset || form.getFieldValue(['settings', 'smtp', 'host'])) return;
    form.setFieldValue('preset', preset.key);
    apply(preset.key);
  };
  return { apply, detect };
}

/** The "Account" group: name, address, aliases, active; for SMTP providers the well-known servers. */
export function AccountFields() {
  const { t } = useMailTranslation();
  const { provider } = useAccountForm();
  const withServers = provider === 'smtp-imap' || provider === 'smtp';
  const { apply, detect } = usePresets();
  const preset = Form.useWatch('preset');
  const note = SERVER_PRESETS.find((p) => p.key === preset)?.note;

  return (
    <FormSection
      title={t('Account')}
      testId="section-account"
      extra={
        <Tooltip title={t('Inactive accounts neither send nor sync.')} placement="left">
          <span>
            <Form.Item name="enabled" valuePropName="checked" noStyle>
              <Switch checkedChildren={t('Active')} unCheckedChildren={t('Inactive')} data-testid="account-enabled" />
            </Form.Item>
          </span>
        </Tooltip>
      }
    >
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item
            name="address"
            label={t('E-mail address')}
            rules={[rules.required(t, t('E-mail address')), rules.address(t)]}
          >
            <Input
              placeholder="name@example.com"
              autoComplete="off"
              spellCheck={false}
              onBlur={(e) => withServers && detect(e.target.value)}
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item
            name="title"
            label={t('Display name')}
            tooltip={t('How the account is listed; the e-mail address when empty.')}
          >
            <Input placeholder={t('e.g. Sales team')} maxLength={120} />
          </Form.Item>
        </Col>
      </Row>
      {withServers && (
        <Form.Item name="preset" label={t('Mail service')}>
          <Select
            onChange={(key: string) => apply(key)}
            options={[
              { value: 'custom', label: t('Other — enter the servers yourself') },
              ...SERVER_PRESETS.map((p) => ({ value: p.key, label: t(p.label) })),
            ]}
          />
        </Form.Item>
      )}
      {withServers && note && (
        <Alert type="info" showIcon message={t(note)} style={{ marginTop: -8, marginBottom: 24 }} />
      )}
      <Form.Item
        name="aliases"
        label={t('Also sends as')}
        tooltip={t('Further addresses of this mailbox that users may pick as sender.')}
        rules={[rules.addressList(t)]}
      >
        <Select
          mode="tags"
          open={false}
          suffixIcon={null}
          tokenSeparators={[',', ';', ' ']}
          placeholder={t('Type an address and press Enter')}
        />
      </Form.Item>
    </FormSection>
  );
}
