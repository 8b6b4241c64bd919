import React, { useMemo } from 'react';
import { Alert, Button, Col, Form, Radio, Row, Select, Space, Switch, Tabs, Typography, theme } from 'antd';
import { DeleteOutlined, PaperClipOutlined, PlusOutlined } from '@ant-design/icons';
import { WorkflowVariableInput, WorkflowVariableTextArea } from '@nocobase/plugin-workflow/client-v2';
import { useMailTranslation } from '../locale';
import { accountOption, aliasAddresses, useMailAccounts } from './useMailAccountOptions';

// The config form of "E-Mail senden" in the workflow canvas. The canvas renders it inside its own antd Form and
// saves `values.config`, so every field is named ['config', …] (server: src/server/workflow/sendMailConfig.ts).

type Translate = (key: string, options?: Record<string, unknown>) => string;

/** A workflow variable whose target collection is a file collection (attachment fields, file records). */
function isFileVariable(field: any, { collectionManager }: { collectionManager?: any } = {}) {
  if (!field?.target || field.isForeignKey) return false;
  const target = collectionManager?.getCollection?.(field.target);
  return target?.template === 'file' || target?.options?.template === 'file';
}

function SectionTitle({ children }: { children: React.ReactNode }) {
  const { token } = theme.useToken();
  return (
    <Typography.Text strong style={{ display: 'block', margin: `${token.marginXS}px 0 ${token.marginSM}px`, color: token.colorTextHeading }}>
      {children}
    </Typography.Text>
  );
}

/** to / cc / bcc: several entries, each a static address or a variable (or both mixed: "{{…}}, boss@x.de"). */
function AddressList({ field, label, required, t }: { field: string; label: string; required?: boolean; t: Translate }) {
  return (
    <Form.Item label={label} required={required} data-testid={`mail-field-${field}`} style={{ marginBottom: 16 }}>
      <Form.List
        name={['config', field]}
        rules={
          required
            ? [
                {
                  validator: async (_: unknown, value: unknown[]) => {
                    if (!value?.some((v) => typeof v === 'string' && v.trim())) {
                      throw new Error(t('Add at least one recipient.'));
                    }
                  },
                },
              ]
            : undefined
        }
      >
        {(fields, { add, remove }, { errors }) => (
          <Space direction="vertical" style={{ width: '100%' }} size={8}>
            {fields.map((item, index) => (
              <Row key={item.key} gutter={8} align="middle" wrap={false}>
                <Col flex="auto" style={{ minWidth: 0 }}>
                  <Form.Item name={item.name} noStyle>
                    <WorkflowVariableInput
                      placeholder={t('name@example.com or a variable')}
                      aria-label={`${label} ${index + 1}`}
                    />
                  </Form.Item>
                </Col>
                <Col flex="none">
                  <Button
                    type="text"
                    icon={<DeleteOutlined />}
                    aria-label={t('Remove')}
                    onClick={() => remove(item.name)}
                    data-testid={`mail-${field}-remove-${index}`}
                  />
                </Col>
              </Row>
            ))}
            <Button
              type="dashed"
              block
              icon={<PlusOutlined />}
              onClick={() => add('')}
              data-testid={`mail-${field}-add`}
            >
              {t('Add recipient')}
            </Button>
            <Form.ErrorList errors={errors} />
          </Space>
        )}
      </Form.List>
    </Form.Item>
  );
}

function AccountFields({ t }: { t: Translate }) {
  const form = Form.useFormInstance();
  const { accounts, loading, error } = useMailAccounts();
  const accountId = Form.useWatch(['config', 'accountId'], form);
  const account = accounts.find((a) => String(a.id) === String(accountId));
  const options = useMemo(() => accounts.map((a) => accountOption(a, t('disabled'))), [accounts, t]);
  const fromOptions = aliasAddresses(account).map((address, i) => ({
    value: i === 0 ? '' : address,
    title: address,
    text: address,
    label:
      i === 0 ? (
        <span>
          {address} <Typography.Text type="secondary">({t("the account's address")})</Typography.Text>
        </span>
      ) : (
        address
      ),
  }));

  return (
    <>
      {error ? <Alert type="error" showIcon style={{ marginBottom: 16 }} message={t('The mail accounts could not be loaded.')} description={error} /> : null}
      <Row gutter={16}>
        <Col xs={24} md={14}>
          <Form.Item
            name={['config', 'accountId']}
            label={t('Mail account')}
            rules={[{ required: true, message: t('Pick the account this step sends from.') }]}
            extra={!loading && !accounts.length && !error ? t('No mail accounts yet — add one under Settings → E-Mail.') : undefined}
          >
            <Select
              data-testid="mail-account-select"
              loading={loading}
              options={options}
              optionLabelProp="text"
              showSearch
              optionFilterProp="title"
              placeholder={t('Pick a mail account')}
              onChange={() => form.setFieldValue(['config', 'from'], '')}
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={10}>
          <Form.Item
            name={['config', 'from']}
            label={t('From')}
            extra={account && fromOptions.length < 2 ? t('Add aliases to the account to send from other addresses.') : undefined}
          >
            <Select
              data-testid="mail-from-select"
              options={fromOptions}
              optionLabelProp="text"
              disabled={!account}
              placeholder={account ? account.address : t('Pick an account first')}
            />
          </Form.Item>
        </Col>
      </Row>
    </>
  );
}

/** The HTML body: a variable text area, and a preview of the markup (variables stay as they are). */
function HtmlBody({ t }: { t: Translate }) {
  const form = Form.useFormInstance();
  const html: string = Form.useWatch(['config', 'html'], form) ?? '';
  const { token } = theme.useToken();
  return (
    <Tabs
      size="small"
      items={[
        {
          key: 'edit',
          label: t('HTML'),
          forceRender: true,
          children: (
            <Form.Item name={['config', 'html']} noStyle>
              <WorkflowVariableTextArea autoSize={{ minRows: 8, maxRows: 24 }} placeholder="<p>Hello,</p>" aria-label={t('HTML body')} />
            </Form.Item>
          ),
        },
        {
          key: 'preview',
          label: t('Preview'),
          children: (
            <iframe
              title={t('Preview')}
              sandbox=""
              srcDoc={html || `<p style="color:#999;font-family:sans-serif">${t('Nothing to preview yet.')}</p>`}
              style={{ width: '100%', minHeight: 220, border: `1px solid ${token.colorBorder}`, borderRadius: token.borderRadius, background: '#fff' }}
            />
          ),
        },
      ]}
    />
  );
}

function BodyFields({ t }: { t: Translate }) {
  const form = Form.useFormInstance();
  const contentType: string = Form.useWatch(['config', 'contentType'], form) ?? 'html';
  return (
    <>
      <Form.Item name={['config', 'contentType']} label={t('Content type')} initialValue="html">
        <Radio.Group
          optionType="button"
          data-testid="mail-content-type"
          options={[
            { value: 'html', label: t('HTML') },
            { value: 'text', label: t('Plain text') },
            { value: 'both', label: t('HTML and plain text') },
          ]}
        />
      </Form.Item>
      {contentType !== 'text' ? (
        <Form.Item
          label={t('Body (HTML)')}
          data-testid="mail-field-html"
          extra={t('Type HTML; insert variables with the "x" button. Variables are filled in when the step runs.')}
        >
          <HtmlBody t={t} />
        </Form.Item>
      ) : null}
      {contentType !== 'html' ? (
        <Form.Item
          name={['config', 'text']}
          label={contentType === 'both' ? t('Body (plain text, for mail programs without HTML)') : t('Body')}
          data-testid="mail-field-text"
        >
          <WorkflowVariableTextArea autoSize={{ minRows: 6, maxRows: 24 }} placeholder={t('Hello,')} aria-label={t('Plain text body')} />
        </Form.Item>
      ) : null}
    </>
  );
}

function AttachmentList({ t }: { t: Translate }) {
  const variableOptions = useMemo(() => ({ types: [isFileVariable] }), []);
  return (
    <Form.Item
      label={t('Attachments')}
      data-testid="mail-field-attachments"
      extra={t('Variables of attachment fields or file records; every file they hold is attached.')}
    >
      <Form.List name={['config', 'attachments']}>
        {(fields, { add, remove }) => (
          <Space direction="vertical" style={{ width: '100%' }} size={8}>
            {fields.map((item, index) => (
              <Row key={item.key} gutter={8} align="middle" wrap={false}>
                <Col flex="none">
                  <PaperClipOutlined />
                </Col>
                <Col flex="auto" style={{ minWidth: 0 }}>
                  <Form.Item name={item.name} noStyle>
                    <WorkflowVariableInput variableOptions={variableOptions} placeholder={t('Pick an attachment field')} aria-label={`${t('Attachments')} ${index + 1}`} />
                  </Form.Item>
                </Col>
                <Col flex="none">
                  <Button type="text" icon={<DeleteOutlined />} aria-label={t('Remove')} onClick={() => remove(item.name)} />
                </Col>
              </Row>
            ))}
            <Button type="dashed" block icon={<PlusOutlined />} onClick={() => add('')} data-testid="mail-attachments-add">
              {t('Add attachment')}
            </Button>
          </Space>
        )}
      </Form.List>
    </Form.Item>
  );
}

export function SendMailFieldset() {
  const { t } = useMailTranslation();
  return (
    <div data-testid="mailbridge-send-fieldset">
      <SectionTitle>{t('Sender')}</SectionTitle>
      <AccountFields t={t} />

      <SectionTitle>{t('Recipients')}</SectionTitle>
      <AddressList field="to" label={t('To')} required t={t} />
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <AddressList field="cc" label={t('CC')} t={t} />
        </Col>
        <Col xs={24} md={12}>
          <AddressList field="bcc" label={t('BCC')} t={t} />
        </Col>
      </Row>
      <Form.Item name={['config', 'replyTo']} label={t('Reply to')} extra={t('Where answers go; empty = the sender.')}>
        <WorkflowVariableInput placeholder={t('name@example.com or a variable')} aria-label={t('Reply to')} />
      </Form.Item>

      <SectionTitle>{t('Message')}</SectionTitle>
      <Form.Item
        name={['config', 'subject']}
        label={t('Subject')}
        data-testid="mail-field-subject"
        extra={t('Empty when answering a thread: "Re: " and the subject of that mail.')}
      >
        <WorkflowVariableInput placeholder={t('Subject, may contain variables')} aria-label={t('Subject')} />
      </Form.Item>
      <BodyFields t={t} />
      <AttachmentList t={t} />

      <SectionTitle>{t('Thread and errors')}</SectionTitle>
      <Form.Item
        name={['config', 'inReplyTo']}
        label={t('Answer in the thread of')}
        data-testid="mail-field-inReplyTo"
        extra={t('A stored mail (its id, e.g. the trigger\'s message id) or a Message-ID. The mail is sent as a reply and filed in that thread.')}
      >
        <WorkflowVariableInput placeholder={t('Pick a variable, e.g. the message of "E-Mail received"')} aria-label={t('Answer in the thread of')} />
      </Form.Item>
      <Form.Item
        name={['config', 'ignoreFail']}
        label={t('Ignore failure')}
        valuePropName="checked"
        extra={t('On: the workflow goes on when the mail cannot be sent; the step\'s result holds the error.')}
      >
        <Switch data-testid="mail-ignore-fail" />
      </Form.Item>
    </div>
  );
}

export default SendMailFieldset;
