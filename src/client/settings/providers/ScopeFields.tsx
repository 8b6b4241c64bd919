import React from 'react';
import { Form, Radio, Select } from 'antd';
import { useMailTranslation } from '../../locale';
import { ScopeSummary } from '../ScopeSummary';

/** What the Microsoft account may do: read, send or both, plus extra Graph scopes. */
export function ScopeFields({ kind }: { kind: 'app' | 'delegated' }) {
  const { t } = useMailTranslation();
  const preset = Form.useWatch(['settings', 'scopePreset']);
  const extra = Form.useWatch(['settings', 'extraScopes']);
  return (
    <>
      <Form.Item name={['settings', 'scopePreset']} label={t('Permissions')}>
        <Radio.Group
          optionType="button"
          options={[
            { value: 'read-send', label: t('Read and send') },
            { value: 'read', label: t('Read only') },
            { value: 'send', label: t('Send only') },
          ]}
        />
      </Form.Item>
      <Form.Item
        name={['settings', 'extraScopes']}
        label={t('Additional scopes')}
        tooltip={t('Further Microsoft Graph permissions, e.g. Mail.Send.Shared for shared mailboxes.')}
      >
        <Select
          mode="tags"
          open={false}
          suffixIcon={null}
          tokenSeparators={[',', ' ']}
          placeholder={t('Type a scope and press Enter')}
        />
      </Form.Item>
      <div style={{ marginTop: -8, marginBottom: 24 }}>
        <ScopeSummary kind={kind} preset={preset} extraScopes={extra} />
      </div>
    </>
  );
}
