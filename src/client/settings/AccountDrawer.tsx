import React, { useEffect, useMemo, useRef, useState } from 'react';
import { Alert, Button, Drawer, Form, Space, Steps, Typography, theme } from 'antd';
import { ApiOutlined, ArrowLeftOutlined } from '@ant-design/icons';
import { useAPIClient } from '@nocobase/client';
import { useMailTranslation } from '../locale';
import {
  adminConsentUrl,
  authorizeMicrosoft,
  createAccount,
  errorText,
  getAccount,
  httpStatus,
  testAccount,
  updateAccount,
} from './api';
import { AccountForm } from './AccountForm';
import { AccountFormContext } from './AccountFormContext';
import { FormSection } from './FormSection';
import { AccountFormValues, initialFormValues, toAccountValues } from './formValues';
import { useMessage } from './feedback';
import { ProviderIcon } from './ProviderIcon';
import { ProviderPicker } from './ProviderPicker';
import { TestConnectionResult } from './TestConnectionResult';
import type { FolderInfo, MailAccount, ProviderKey, TestResult } from './types';

interface TestState {
  loading?: boolean;
  result?: TestResult;
  error?: string;
}

/** "Add account" (pick a provider, then its form) and "Edit account" in one drawer. */
export function AccountDrawer({
  open,
  account,
  onClose,
  onSaved,
}: {
  open: boolean;
  account?: MailAccount | null;
  onClose(): void;
  onSaved(account: MailAccount, created: boolean): void;
}) {
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const api = useAPIClient();
  const message = useMessage();
  const [form] = Form.useForm<AccountFormValues>();
  const [provider, setProvider] = useState<ProviderKey | null>(account?.provider ?? null);
  const [record, setRecord] = useState<MailAccount | undefined>(account ?? undefined);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [test, setTest] = useState<TestState | null>(null);
  const [folders, setFolders] = useState<FolderInfo[]>([]);
  const [connecting, setConnecting] = useState(false);
  const [dirty, setDirty] = useState(false);
  const testRef = useRef<HTMLDivElement>(null);

  const creating = !record;
  const initialValues = useMemo(() => (provider ? initialFormValues(provider, record) : null), [provider, record]);

  // One form instance serves every provider and the saved record: start over from their initial values.
  useEffect(() => {
    form.resetFields();
    setDirty(false);
  }, [form, provider, record]);

  const pick = (key: ProviderKey) => {
    setProvider(key);
    setTest(null);
    setSaveError(null);
    setFolders([]);
  };

  const validated = async (): Promise<boolean> => {
    try {
      await form.validateFields();
      return true;
    } catch (info: any) {
      const first = info?.errorFields?.[0]?.name;
      if (first) form.scrollToField(first, { behavior: 'smooth', block: 'center' });
      return false;
    }
  };

  // after React has rendered the result: scroll the drawer so that the whole result is in view
  const revealTest = () => setTimeout(() => testRef.current?.scrollIntoView({ behavior: 'smooth', block: 'end' }), 50);

  const currentValues = () => toAccountValues(provider!, form.getFieldsValue(true), record);

  const runTest = async () => {
    if (!provider || !(await validated())) return;
    setTest({ loading: true });
    revealTest();
    try {
      const result = await testAccount(api, record?.id, currentValues());
      setTest({ result });
      const found = result.steps?.find((s) => s.folders?.length)?.folders;
      if (found) setFolders(found);
    } catch (e) {
      setTest({ error: errorText(e) });
    }
    revealTest();
  };

  const save = async ({ keepOpen = false }: { keepOpen?: boolean } = {}): Promise<MailAccount | null> => {
    if (!provider || !(await validated())) return null;
    setSaving(true);
    setSaveError(null);
    try {
      const values = currentValues();
      const saved = record ? await updateAccount(api, record.id, values) : await createAccount(api, values);
      onSaved(saved, creating);
      message.success(
        creating
          ? t('Account "{{title}}" added.', { title: saved.title })
          : t('Account "{{title}}" saved.', { title: saved.title }),
      );
      // A new delegated account still has to be connected, so it stays open for the "Connect with Microsoft" step.
      if (keepOpen || (creating && provider === 'ms365-delegated')) {
        setRecord(saved);
        setTest(null);
      } else {
        onClose();
      }
      return saved;
    } catch (e) {
      setSaveError(errorText(e));
      return null;
    } finally {
      setSaving(false);
    }
  };

  const connectMicrosoft = async () => {
    let target = record;
    if (!target || dirty) target = (await save({ keepOpen: true })) ?? undefined;
    if (!target) return;
    setConnecting(true);
    try {
      window.location.href = await authorizeMicrosoft(api, target.id);
    } catch (e) {
      setConnecting(false);
      if (httpStatus(e) === 404)
        message.error(t('This server cannot connect Microsoft accounts yet (mailOAuth:authorize is missing).'));
      else message.error(errorText(e));
    }
  };

  const grantAdminConsent = async () => {
    if (!record) return;
    try {
      window.location.href = await adminConsentUrl(api, record.id);
    } catch (e) {
      if (httpStatus(e) === 404)
        message.error(t('This server cannot connect Microsoft accounts yet (mailOAuth:authorize is missing).'));
      else message.error(errorText(e));
    }
  };

  const reloadAccount = async () => {
    if (!record) return;
    try {
      const fresh = await getAccount(api, record.id);
      setRecord(fresh);
      onSaved(fresh, false);
    } catch (e) {
      message.error(errorText(e));
    }
  };

  const step = provider ? 1 : 0;
  const title = creating ? t('Add mail account') : t('Edit mail account');

  const footer = provider ? (
    <div style={{ display: 'flex', justifyContent: 'space-between', gap: 8 }}>
      <Button icon={<ApiOutlined />} onClick={runTest} loading={test?.loading} data-testid="test-connection">
        {t('Test connection')}
      </Button>
      <Space>
        <Button onClick={onClose}>{t('Cancel')}</Button>
        <Button type="primary" onClick={() => save()} loading={saving} data-testid="save-account">
          {t('Save')}
        </Button>
      </Space>
    </div>
  ) : (
    <div style={{ display: 'flex', justifyContent: 'flex-end' }}>
      <Button onClick={onClose}>{t('Cancel')}</Button>
    </div>
  );

  return (
    <Drawer
      open={open}
      onClose={onClose}
      title={title}
      width={760}
      destroyOnClose
      footer={footer}
      data-testid="account-drawer"
      extra={
        record && (
          <Typography.Text type="secondary" ellipsis style={{ maxWidth: 320 }}>
            {record.title}
          </Typography.Text>
        )
      }
    >
      {creating && (
        <Steps
          size="small"
          current={step}
          style={{ marginBottom: 24 }}
          items={[{ title: t('Provider') }, { title: t('Settings') }]}
        />
      )}
      {!provider && (
        <>
          <Typography.Paragraph type="secondary">{t('Which service does this mailbox use?')}</Typography.Paragraph>
          <ProviderPicker value={provider} onPick={pick} />
        </>
      )}
      {provider && initialValues && (
        <AccountFormContext.Provider
          value={{
            provider,
            account: record,
            folders,
            connectMicrosoft,
            grantAdminConsent,
            reloadAccount,
            connecting,
            dirty,
          }}
        >
          <div
            style={{
              display: 'flex',
              alignItems: 'center',
              gap: 12,
              padding: 12,
              marginBottom: 24,
              background: token.colorFillQuaternary,
              borderRadius: token.borderRadiusLG,
            }}
            data-testid="chosen-provider"
          >
            <ProviderIcon provider={provider} size={36} />
            <div style={{ flex: 1, minWidth: 0 }}>
              <Typography.Text strong style={{ display: 'block' }}>
                {t(`provider.${provider}`)}
              </Typography.Text>
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {creating ? t('New account') : record?.address}
              </Typography.Text>
            </div>
            {creating && (
              <Button type="link" icon={<ArrowLeftOutlined />} onClick={() => setProvider(null)}>
                {t('Change provider')}
              </Button>
            )}
          </div>
          {saveError && (
            <Alert
              type="error"
              showIcon
              closable
              onClose={() => setSaveError(null)}
              message={t('The account could not be saved.')}
              description={saveError}
              style={{ marginBottom: 24 }}
            />
          )}
          <AccountForm
            key={`${provider}:${record?.id ?? 'new'}`}
            form={form}
            provider={provider}
            initialValues={initialValues}
            onValuesChange={() => setDirty(true)}
            footer={
              <div ref={testRef} style={{ paddingBottom: 4 }}>
                {test && (
                  <FormSection title={t('Connection test')} testId="section-test">
                    <TestConnectionResult loading={test.loading} result={test.result} error={test.error} />
                  </FormSection>
                )}
              </div>
            }
          />
        </AccountFormContext.Provider>
      )}
    </Drawer>
  );
}
