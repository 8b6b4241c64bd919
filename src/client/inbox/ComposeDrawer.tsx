import React, { useEffect, useMemo, useState } from 'react';
import { Alert, Button, Drawer, Form, Input, Select, Space, Typography, Upload, theme } from 'antd';
import type { UploadFile } from 'antd';
import { PaperClipOutlined, SendOutlined } from '@ant-design/icons';
import { useAPIClient } from '@nocobase/client';
import { useInboxTranslation as useMailTranslation } from '../inbox/i18n';
import { useMessage } from '../settings/feedback';
import { useErrorSummary } from '../settings/errorSummary';
import { discardOutbox, errorText, httpStatus, sendMail } from './api';
import type { ComposeInitial } from './compose';
import { waitsForRetry } from './OutboxView';
import { fileSize, parseAddressInput } from './format';
import type { OutboxEntry, RecordRef, UsableAccount } from './types';

export interface ComposeDrawerProps {
  open: boolean;
  initial: ComposeInitial | null;
  accounts: UsableAccount[];
  /** file the mail (and its replies) on this record */
  record?: RecordRef;
  onClose(): void;
  onSent?(entry: OutboxEntry): void;
}

interface FormValues {
  sender: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string;
}

const SEP = '\u0001';
const senderKey = (accountId: UsableAccount['id'], address: string) => `${accountId}${SEP}${address}`;

function senderOptions(accounts: UsableAccount[]) {
  const options: Array<{ value: string; label: React.ReactNode; title: string }> = [];
  for (const account of accounts) {
    const addresses = [account.address, ...(account.aliases ?? []).map((a) => (typeof a === 'string' ? a : a?.address))]
      .filter(Boolean) as string[];
    for (const address of addresses) {
      options.push({
        value: senderKey(account.id, address),
        title: address,
        label: (
          <span>
            {account.title && account.title !== address ? `${account.title} ` : ''}
            <Typography.Text type={account.title && account.title !== address ? 'secondary' : undefined}>
              {account.title && account.title !== address ? `<${address}>` : address}
            </Typography.Text>
          </span>
        ),
      });
    }
  }
  return options;
}

function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

const MAX_ATTACHMENTS_BYTES = 20 * 1024 * 1024;

// A file of stored mail (a forward's original) sits in the list beside uploaded ones; it is sent by reference and
// the server reads it from the mailbox.
const STORED_UID = 'mail-attachment:';

function storedFiles(initial: ComposeInitial, unnamed: string): UploadFile[] {
  return (initial.attachments ?? []).map((a) => ({
    uid: `${STORED_UID}${a.id}`,
    name: a.filename || unnamed,
    size: a.size ?? undefined,
    type: a.contentType ?? undefined,
    status: 'done',
  }));
}

async function attachmentValue(file: UploadFile) {
  if (file.uid.startsWith(STORED_UID)) return { mailAttachmentId: file.uid.slice(STORED_UID.length) };
  return {
    filename: file.name,
    contentType: file.type || 'application/octet-stream',
    contentBase64: await readBase64(file.originFileObj as File),
  };
}

/** New mail, reply, reply all and forward: a drawer with sender, recipients, subject, text and attachments. */
export function ComposeDrawer({ open, initial, accounts, record, onClose, onSent }: ComposeDrawerProps) {
  const api = useAPIClient();
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const messageApi = useMessage();
  const [form] = Form.useForm<FormValues>();
  const [files, setFiles] = useState<UploadFile[]>([]);
  const [showCc, setShowCc] = useState(false);
  const [showBcc, setShowBcc] = useState(false);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const errorSummary = useErrorSummary();
  // the outbox entry of this drawer's last send that failed: sending again replaces it, so the mail goes out once
  const [failedEntryId, setFailedEntryId] = useState<OutboxEntry['id'] | null>(null);
  const senders = useMemo(() => senderOptions(accounts.filter((a) => a.enabled !== false)), [accounts]);

  useEffect(() => {
    if (!open || !initial) return;
    const account = accounts.find((a) => String(a.id) === String(initial.accountId)) ?? accounts[0];
    const fromAddress = initial.from ?? account?.address;
    const wanted = account && fromAddress ? senderKey(account.id, fromAddress) : undefined;
    const sender = senders.find((o) => o.value === wanted)?.value ?? senders.find((o) => account && o.value.startsWith(`${account.id}${SEP}`))?.value ?? senders[0]?.value;
    form.resetFields();
    form.setFieldsValue({
      sender,
      to: initial.to,
      cc: initial.cc,
      bcc: initial.bcc,
      subject: initial.subject,
      text: initial.text,
    });
    setShowCc(initial.cc.length > 0);
    setShowBcc(initial.bcc.length > 0);
    setFiles(storedFiles(initial, t('attachment')));
    setError(null);
    setFailedEntryId(null);
  }, [open, initial, accounts, senders, form, t]);

  const title =
    initial?.mode === 'reply'
      ? t('Reply')
      : initial?.mode === 'replyAll'
        ? t('Reply all')
        : initial?.mode === 'forward'
          ? t('Forward')
          : t('New mail');

  const validateAddresses = async (_: unknown, value: string[] | undefined) => {
    const bad = (value ?? []).filter((v) => !parseAddressInput(v));
    if (bad.length) throw new Error(t('Not an e-mail address: {{list}}', { list: bad.join(', ') }));
  };

  /** Drops the failed entry of the last try before sending again; false when it was sent from the Outbox meanwhile. */
  const replaceFailed = async (id: OutboxEntry['id']) => {
    try {
      await discardOutbox(api, id);
    } catch (e) {
      if (httpStatus(e) === 409) {
        setError(t('This mail was sent again from the Outbox in the meantime. Look there before sending it once more.'));
        return false;
      }
      if (httpStatus(e) !== 404) throw e;
    }
    setFailedEntryId(null);
    return true;
  };

  const submit = async () => {
    setError(null);
    const values = await form.validateFields().catch(() => null);
    if (!values || !initial) return;
    const [accountId, from] = values.sender.split(SEP);
    const list = (v?: string[]) => (v ?? []).map((a) => parseAddressInput(a)).filter(Boolean) as string[];
    const to = list(values.to);
    const cc = list(values.cc);
    const bcc = list(values.bcc);
    if (!to.length && !cc.length && !bcc.length) {
      setError(t('Add at least one recipient.'));
      return;
    }
    const total = files.reduce((sum, f) => sum + (f.size ?? 0), 0);
    if (total > MAX_ATTACHMENTS_BYTES) {
      setError(t('The attachments are larger than 20 MB together. Remove some or send a link instead.'));
      return;
    }
    setSending(true);
    try {
      if (failedEntryId !== null && !(await replaceFailed(failedEntryId))) return;
      const attachments = await Promise.all(files.map(attachmentValue));
      const account = accounts.find((a) => String(a.id) === accountId);
      const entry = await sendMail(api, {
        accountId: account?.id ?? accountId,
        from,
        to,
        cc,
        bcc,
        subject: values.subject ?? '',
        text: values.text ?? '',
        inReplyTo: initial.inReplyTo,
        references: initial.references,
        attachments,
        ...(record ? { record } : {}),
        source: 'ui',
        wait: true,
      });
      if (entry?.state === 'failed') {
        setFailedEntryId(entry.id);
        const summary = errorSummary(entry.errorCode);
        const detail = entry.lastError || t('The mail could not be sent.');
        setError(summary ? `${summary.title}: ${detail}` : detail);
        return;
      }
      if (entry && waitsForRetry(entry) && entry.lastError) {
        // not lost: it waits in the outbox for its next attempt, where it can also be discarded
        messageApi.warning(t('Not sent yet: {{error}} It is tried again later; see the Outbox.', { error: entry.lastError }), 8);
      } else messageApi.success(entry?.state === 'sent' ? t('Mail sent.') : t('Mail queued; it will be sent shortly.'));
      onSent?.(entry);
      onClose();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setSending(false);
    }
  };

  const recipientSelect = (testId: string) => (
    <Select
      mode="tags"
      open={false}
      suffixIcon={null}
      tokenSeparators={[',', ';', ' ']}
      placeholder={t('name@example.com')}
      data-testid={testId}
    />
  );

  return (
    <Drawer
      open={open}
      onClose={onClose}
      width={720}
      destroyOnClose
      title={
        <span data-testid="compose-title">
          {title}
          {initial?.source?.subject && initial.mode !== 'new' ? (
            <Typography.Text type="secondary" style={{ fontWeight: 'normal', marginLeft: 8 }} ellipsis>
              {initial.source.subject}
            </Typography.Text>
          ) : null}
        </span>
      }
      extra={
        <Space>
          <Button onClick={onClose}>{t('Cancel')}</Button>
          <Button type="primary" icon={<SendOutlined />} loading={sending} onClick={submit} data-testid="compose-send">
            {t('Send')}
          </Button>
        </Space>
      }
      data-testid="compose-drawer"
    >
      <Form form={form} layout="horizontal" labelCol={{ flex: '72px' }} labelAlign="left" colon={false} data-testid="compose-form">
        <Form.Item name="sender" label={t('From')} rules={[{ required: true, message: t('Choose the sender.') }]}>
          <Select options={senders} data-testid="compose-from" optionLabelProp="label" />
        </Form.Item>
        <Form.Item label={t('To')} style={{ marginBottom: 0 }}>
          <div style={{ display: 'flex', gap: 8, alignItems: 'flex-start' }}>
            <Form.Item name="to" rules={[{ validator: validateAddresses }]} style={{ flex: 1 }}>
              {recipientSelect('compose-to')}
            </Form.Item>
            <Space size={0} style={{ paddingTop: 4 }}>
              {!showCc && (
                <Button type="link" size="small" onClick={() => setShowCc(true)} data-testid="compose-show-cc">
                  {t('Cc')}
                </Button>
              )}
              {!showBcc && (
                <Button type="link" size="small" onClick={() => setShowBcc(true)}>
                  {t('Bcc')}
                </Button>
              )}
            </Space>
          </div>
        </Form.Item>
        {showCc && (
          <Form.Item name="cc" label={t('Cc')} rules={[{ validator: validateAddresses }]}>
            {recipientSelect('compose-cc')}
          </Form.Item>
        )}
        {showBcc && (
          <Form.Item name="bcc" label={t('Bcc')} rules={[{ validator: validateAddresses }]}>
            {recipientSelect('compose-bcc')}
          </Form.Item>
        )}
        <Form.Item name="subject" label={t('Subject')}>
          <Input data-testid="compose-subject" />
        </Form.Item>
        <Form.Item name="text" wrapperCol={{ span: 24 }}>
          <Input.TextArea
            data-testid="compose-text"
            autoSize={{ minRows: 12, maxRows: 28 }}
            placeholder={t('Write your message…')}
            style={{ fontFamily: 'inherit', lineHeight: 1.6 }}
          />
        </Form.Item>
        <Form.Item wrapperCol={{ span: 24 }} style={{ marginBottom: 8 }}>
          <Upload
            multiple
            fileList={files}
            beforeUpload={(file) => {
              setFiles((prev) => [...prev, { uid: file.uid, name: file.name, size: file.size, type: file.type, originFileObj: file } as UploadFile]);
              return false;
            }}
            onRemove={(file) => setFiles((prev) => prev.filter((f) => f.uid !== file.uid))}
            itemRender={(node, file) => (
              <div title={file.name} style={{ display: 'flex', alignItems: 'center', gap: 8 }}>
                <div style={{ flex: 1, minWidth: 0 }}>{node}</div>
                <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
                  {fileSize(file.size)}
                </Typography.Text>
              </div>
            )}
          >
            <Button icon={<PaperClipOutlined />} data-testid="compose-attach">
              {t('Attach files')}
            </Button>
          </Upload>
        </Form.Item>
        {record ? (
          <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginBottom: 8 }}>
            {t('This mail and its replies are filed on the record.')}
          </Typography.Paragraph>
        ) : null}
        {error && (
          <Alert type="error" showIcon message={t('The mail was not sent')} description={error} data-testid="compose-error" style={{ borderColor: token.colorErrorBorder }} />
        )}
      </Form>
    </Drawer>
  );
}
