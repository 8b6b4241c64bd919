import React from 'react';
import { Col, Form, InputNumber, Row, Select } from 'antd';
import { useMailTranslation } from '../../locale';
import { FormSection } from '../FormSection';
import { useAccountForm } from '../AccountFormContext';
import * as rules from '../formRules';

const SPECIAL_USES = ['inbox', 'sent', 'drafts', 'trash', 'junk', 'archive'];

/** Which folders to sync, how often, and how far back on the first sync. */
export function SyncFields() {
  const { t } = useMailTranslation();
  const { folders, provider } = useAccountForm();
  const options = folders.map((f) => {
    const use = String(f.specialUse ?? '')
      .replace(/^\\+/, '')
      .toLowerCase();
    return { value: f.path, label: SPECIAL_USES.includes(use) ? `${f.path} (${t(`folder.${use}`)})` : f.path };
  });
  const isImap = provider === 'smtp-imap';
  return (
    <FormSection title={t('Sync')} testId="section-sync">
      <Form.Item
        name={['settings', 'sync', 'folders']}
        label={t('Folders')}
        extra={
          folders.length
            ? t('Pick folders, or leave empty for the inbox and sent mail.')
            : isImap
              ? t('Leave empty for the inbox and sent mail. "Test connection" lists the folders of the mailbox.')
              : t('Leave empty for the inbox and sent mail, or type folder names.')
        }
      >
        <Select
          mode="tags"
          options={options}
          placeholder={t('Inbox and sent mail')}
          tokenSeparators={[',']}
          allowClear
        />
      </Form.Item>
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item
            name={['settings', 'sync', 'intervalSeconds']}
            label={t('Check for new mail every')}
            rules={[rules.range(t, 30, 86400)]}
          >
            <InputNumber min={30} max={86400} precision={0} addonAfter={t('seconds')} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item
            name={['settings', 'sync', 'initialWindowDays']}
            label={t('First sync goes back')}
            rules={[rules.range(t, 0, 36500)]}
            extra={t('0 = the whole mailbox')}
          >
            <InputNumber min={0} max={36500} precision={0} addonAfter={t('days')} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
      </Row>
    </FormSection>
  );
}
