import React, { useEffect, useMemo, useState } from 'react';
import { Alert, AutoComplete, Col, Form, Input, Row, Select } from 'antd';
import { useAPIClient } from '@nocobase/client';
import { useMailTranslation } from '../locale';
import { accountOption, useMailAccounts } from './useMailAccountOptions';

// The config form of the "E-Mail received" trigger (src/server/workflow/mailReceivedTrigger.ts MailReceivedConfig).
// Every filter is optional; an empty form starts the workflow for every new mail.

const COMMON_FOLDERS = ['INBOX'];

/** "{{t("Users")}}" → "Users": collection titles are stored as compile expressions. */
function plainTitle(title: unknown, t: (k: string) => string): string {
  const text = String(title ?? '');
  const m = /^\{\{\s*t\(\s*["'](.+?)["']/.exec(text);
  return m ? t(m[1]) : text;
}

function useCollections() {
  const api = useAPIClient();
  const { t } = useMailTranslation();
  const [rows, setRows] = useState<Array<{ name: string; title?: string }>>([]);
  useEffect(() => {
    let alive = true;
    api
      .request<Array<{ name: string; title?: string }>>({
        url: 'collections:list',
        method: 'get',
        params: { paginate: false, fields: ['name', 'title'], sort: ['sort'] },
        skipNotify: true,
      })
      .then((res) => alive && setRows(res.data.data ?? []))
      .catch(() => undefined);
    return () => {
      alive = false;
    };
  }, [api]);
  return useMemo(
    () => rows.map((c) => ({ value: c.name, label: `${plainTitle(c.title, t) || c.name} (${c.name})` })),
    [rows, t],
  );
}

export function MailReceivedFieldset() {
  const { t } = useMailTranslation();
  const { accounts, loading, error } = useMailAccounts();
  const collections = useCollections();
  const receiving = accounts.filter((a) => ['smtp-imap', 'ms365-app', 'ms365-delegated'].includes(a.provider));
  const folderOptions = useMemo(() => {
    const names = new Set<string>(COMMON_FOLDERS);
    for (const a of accounts as any[]) for (const f of a.settings?.sync?.folders ?? []) names.add(String(f));
    return [...names].map((value) => ({ value }));
  }, [accounts]);

  return (
    <div data-testid="mailbridge-received-fieldset">
      {error ? <Alert type="error" showIcon style={{ marginBottom: 16 }} message={t('The mail accounts could not be loaded.')} description={error} /> : null}
      <Form.Item
        name={['config', 'accountId']}
        label={t('Mail accounts')}
        extra={t('Empty = every account that receives mail.')}
        getValueProps={(value) => ({ value: value == null || value === '' ? [] : Array.isArray(value) ? value : [value] })}
      >
        <Select
          mode="multiple"
          allowClear
          loading={loading}
          options={receiving.map((a) => accountOption(a, t('disabled')))}
          optionLabelProp="text"
          optionFilterProp="title"
          placeholder={t('Every account')}
          data-testid="mail-trigger-accounts"
        />
      </Form.Item>
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item name={['config', 'folder']} label={t('Folder')} extra={t('Exact folder path; empty = every synced folder.')}>
            <AutoComplete options={folderOptions} allowClear placeholder="INBOX" filterOption />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item
            name={['config', 'linkedCollection']}
            label={t('Linked to a record of')}
            extra={t('Only mail filed on a record of this collection.')}
          >
            <Select allowClear showSearch optionFilterProp="label" options={collections} placeholder={t('Any or none')} />
          </Form.Item>
        </Col>
      </Row>
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item name={['config', 'fromContains']} label={t('Sender contains')} extra={t('Part of the address or name, any case.')}>
            <Input allowClear placeholder="@customer.example" />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name={['config', 'subjectContains']} label={t('Subject contains')} extra={t('Any case.')}>
            <Input allowClear placeholder={t('Order')} />
          </Form.Item>
        </Col>
      </Row>
      <Alert
        type="info"
        showIcon
        message={t('Variables of this trigger')}
        description={t('The received mail (subject, sender, body, id …), its thread and the records it is linked to. Answer it with "E-Mail senden" and "Answer in the thread of" = the mail id.')}
      />
    </div>
  );
}

export default MailReceivedFieldset;
