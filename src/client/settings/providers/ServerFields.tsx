import React from 'react';
import { Col, Form, Input, InputNumber, Row, Select } from 'antd';
import { useMailTranslation } from '../../locale';
import { DEFAULT_PORTS, Security } from '../providerCatalog';
import * as rules from '../formRules';

/** Host, port, security and login name of the SMTP or IMAP server. */
export function ServerFields({ kind }: { kind: 'smtp' | 'imap' }) {
  const { t } = useMailTranslation();
  const form = Form.useFormInstance();
  const base = ['settings', kind];
  const defaults = DEFAULT_PORTS[kind];

  // Picking another security mode moves a default port along (587 → 465), but keeps a port the admin typed.
  const onSecurityChange = (security: Security) => {
    const current = form.getFieldValue([...base, 'port']);
    const isDefault = current === undefined || current === null || Object.values(defaults).includes(Number(current));
    if (isDefault) form.setFieldValue([...base, 'port'], defaults[security]);
  };

  return (
    <>
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item
            name={[...base, 'host']}
            label={t('Server')}
            rules={[rules.required(t, t('Server')), rules.host(t)]}
          >
            <Input
              placeholder={kind === 'smtp' ? 'smtp.example.com' : 'imap.example.com'}
              autoComplete="off"
              spellCheck={false}
            />
          </Form.Item>
        </Col>
        <Col xs={10} md={5}>
          <Form.Item name={[...base, 'port']} label={t('Port')} rules={[rules.port(t)]} required>
            <InputNumber
              min={1}
              max={65535}
              precision={0}
              controls={false}
              style={{ width: '100%' }}
              placeholder={String(defaults.starttls)}
            />
          </Form.Item>
        </Col>
        <Col xs={14} md={7}>
          <Form.Item
            name={[...base, 'security']}
            label={t('Security')}
            rules={[rules.requiredChoice(t, t('Security'))]}
          >
            <Select
              onChange={onSecurityChange}
              options={[
                { value: 'ssl', label: t('SSL/TLS') },
                { value: 'starttls', label: t('STARTTLS') },
                { value: 'none', label: t('None (unencrypted)') },
              ]}
            />
          </Form.Item>
        </Col>
      </Row>
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item
            name={[...base, 'user']}
            label={t('Login name')}
            tooltip={t('Only needed when the server expects another name than the e-mail address.')}
          >
            <Input placeholder={t('Same as the e-mail address')} autoComplete="off" spellCheck={false} />
          </Form.Item>
        </Col>
      </Row>
    </>
  );
}
