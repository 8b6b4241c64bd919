import React, { useEffect, useState } from 'react';
import { Alert, AutoComplete, Form, Input, Modal, Typography } from 'antd';
import { useAPIClient } from '@nocobase/client';
import { useInboxTranslation as useMailTranslation } from '../inbox/i18n';
import { useMessage } from '../settings/feedback';
import { CollectionOption, errorText, linkToRecord, listCollections } from './api';
import type { MailListItem } from './types';

/** Files a mail's thread on a business record, given as collection name and record id. */
export function LinkRecordModal({
  open,
  message,
  onClose,
  onLinked,
}: {
  open: boolean;
  message: Pick<MailListItem, 'id' | 'subject'> | null;
  onClose(): void;
  onLinked?(values: { collection: string; recordId: string }): void;
}) {
  const api = useAPIClient();
  const { t } = useMailTranslation();
  const messageApi = useMessage();
  const [form] = Form.useForm<{ collection: string; recordId: string }>();
  const [collections, setCollections] = useState<CollectionOption[]>([]);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!open) return;
    setError(null);
    form.resetFields();
    listCollections(api).then(setCollections);
  }, [open, api, form]);

  const submit = async () => {
    const values = await form.validateFields().catch(() => null);
    if (!values || !message) return;
    setSaving(true);
    setError(null);
    try {
      const collection = values.collection.trim();
      const recordId = values.recordId.trim();
      await linkToRecord(api, { collection, recordId, mailMessageId: message.id });
      messageApi.success(t('Linked to {{collection}} #{{id}}.', { collection, id: recordId }));
      onLinked?.({ collection, recordId });
      onClose();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setSaving(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('Link to record')}
      okText={t('Link')}
      cancelText={t('Cancel')}
      onOk={submit}
      confirmLoading={saving}
      onCancel={onClose}
      destroyOnClose
      data-testid="link-record-modal"
    >
      <Typography.Paragraph type="secondary">
        {t('The whole conversation is filed on the record and shows in its mail history.')}
      </Typography.Paragraph>
      <Form form={form} layout="vertical">
        <Form.Item
          name="collection"
          label={t('Collection')}
          rules={[{ required: true, whitespace: true, message: t('Enter the collection name.') }]}
        >
          <AutoComplete
            data-testid="link-collection"
            options={collections.map((c) => ({ value: c.name, label: c.title && c.title !== c.name ? `${c.title} (${c.name})` : c.name }))}
            filterOption={(input, option) => String(option?.label ?? '').toLowerCase().includes(input.toLowerCase())}
            placeholder={t('e.g. deals')}
          />
        </Form.Item>
        <Form.Item
          name="recordId"
          label={t('Record ID')}
          rules={[{ required: true, whitespace: true, message: t('Enter the record ID.') }]}
        >
          <Input data-testid="link-record-id" placeholder="42" />
        </Form.Item>
      </Form>
      {error && <Alert type="error" showIcon message={error} />}
    </Modal>
  );
}
