import React, { useMemo } from 'react';
import { Form } from 'antd';
import type { FormInstance } from 'antd';
import { AccountFields } from './AccountFields';
import { AccessFields } from './AccessFields';
import { ProviderFields } from './providers';
import { SyncFields } from './providers/SyncFields';
import { canSync, presetReads } from './providerCatalog';
import { LinkingSection } from './LinkingSection';
import { withLinkingDefaults } from './linkingValues';
import type { AccountFormValues } from './formValues';
import type { ProviderKey } from './types';

/** Step 2: only the chosen provider's fields, grouped: Account, servers, Sign-in, Who may use it, Sync, Linking. */
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
  // Linking files received mail, so it belongs to the accounts that receive; its defaults show in the form.
  const values = useMemo(
    () => (canSync(provider) ? withLinkingDefaults(initialValues) : initialValues),
    [provider, initialValues],
  );
  return (
    <Form
      form={form}
      layout="vertical"
      initialValues={values}
      requiredMark
      autoComplete="off"
      onValuesChange={onValuesChange}
      data-testid="account-form"
    >
      <AccountFields />
      <ProviderFields provider={provider} />
      <AccessFields />
      {showSync && <SyncFields />}
      {showSync && <LinkingSection />}
      {footer}
    </Form>
  );
}
