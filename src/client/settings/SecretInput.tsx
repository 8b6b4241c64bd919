import React from 'react';
import { Button, Form, Input, Space, Typography } from 'antd';
import type { FormRule as Rule } from 'antd';
import { useMailTranslation } from '../locale';
import type { SecretName } from './types';
import { required as requiredRule } from './formRules';

interface SecretFieldProps {
  id?: string;
  value?: string | null;
  onChange?: (value: string | null) => void;
  isSet: boolean;
  removable: boolean;
  placeholder?: string;
}

// Write-only: a stored secret is never shown or prefilled. '' keeps it, a typed value replaces it, null removes it.
function SecretField({ id, value, onChange, isSet, removable, placeholder }: SecretFieldProps) {
  const { t } = useMailTranslation();
  if (value === null) {
    return (
      <Space data-secret-state="removing">
        <Typography.Text type="warning">{t('Will be removed when you save.')}</Typography.Text>
        <Button
          type="link"
          size="small"
          style={{ padding: 0 }}
          onClick={() => onChange?.(undefined as unknown as string)}
        >
          {t('Undo')}
        </Button>
      </Space>
    );
  }
  const input = (
    <Input.Password
      id={id}
      value={value ?? ''}
      onChange={(e) => onChange?.(e.target.value)}
      autoComplete="new-password"
      placeholder={isSet ? t('Set — leave empty to keep') : (placeholder ?? t('Not set'))}
      data-secret-state={isSet ? 'set' : 'unset'}
    />
  );
  if (!(isSet && removable)) return input;
  return (
    <div style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
      <div style={{ flex: 1 }}>{input}</div>
      <Button onClick={() => onChange?.(null)}>{t('Remove')}</Button>
    </div>
  );
}

export interface SecretInputProps {
  name: SecretName;
  label: string;
  isSet?: boolean;
  /** must be given (on create, or while nothing is stored) */
  required?: boolean;
  /** an optional secret that is stored may be removed */
  removable?: boolean;
  placeholder?: string;
  extra?: React.ReactNode;
  rules?: Rule[];
}

export function SecretInput({
  name,
  label,
  isSet = false,
  required = false,
  removable = false,
  placeholder,
  extra,
  rules = [],
}: SecretInputProps) {
  const { t } = useMailTranslation();
  const mustEnter = required && !isSet;
  return (
    <Form.Item
      name={['secrets', name]}
      label={label}
      extra={extra}
      required={required}
      rules={[...(mustEnter ? [requiredRule(t, label)] : []), ...rules]}
    >
      <SecretField isSet={isSet} removable={removable && !required} placeholder={placeholder} />
    </Form.Item>
  );
}
