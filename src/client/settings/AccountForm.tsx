import React from 'react';
import { Form } from 'antd';
import type { FormInstance } from 'antd';
import { AccountFields } from './AccountFields';
import { AccessFields } from './AccessFields';
import { ProviderFields } from './providers';
import { SyncFields } from './providers/SyncFields';
import { canSync, presetReads } from './providerCatalog';
import type { AccountFormValues } from './formValues';
import type { ProviderKey } from './types';

/** Step 2: only the chosen provider's fields, grouped: Account, servers, Sign-in, Who may use it, Sync. */
export function AccountForm({
  form,
  provider,
  initialValues,
  footer,
  onValuesChange,
}: {
  form: FormInstance<AccountFormValues>;
  provider: ProviderKey;
  initialValues: AccountFormValues;
  footer?: React.ReactNode;
  onValuesChange?: () => void;
}) {
  const preset = Form.useWatch(['settings', 'scopePreset'], form);
  const isMicrosoft = provider === 'ms365-app' || provider === 'ms365-delegated';
  const showSync = canSync(provider) && (!isMicrosoft || presetReads(preset));
  return (
    <Form
      form={form}
      layout="vertical"
      initialValues={initialValues}
      requiredMark
      autoComplete="off"
      onValuesChange={onValuesChange}
      data-testid="account-form"
    >
      <AccountFields />
      <ProviderFields provider={provider} />
      <AccessFields />
      {showSync && <SyncFields />}
      {footer}
    </Form>
  );
}
