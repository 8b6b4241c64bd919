import React, { useEffect, useState } from 'react';
import { Button, Input, Select, Space, Typography, theme } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMailTranslation } from '../locale';
import { FieldInfo, isFilterField, plainTitle } from './linkingApi';
import { conditionsOf, FILTER_OPERATORS, FilterCondition, FilterOperator, filterOf, takesList, takesValue } from './openFilter';

const OPERATOR_LABELS: Record<FilterOperator, string> = {
  $eq: 'is',
  $ne: 'is not',
  $in: 'is any of',
  $notIn: 'is none of',
  $empty: 'is empty',
  $notEmpty: 'is not empty',
};

const NUMERIC = new Set(['integer', 'bigInt', 'float', 'double', 'decimal', 'sequence', 'snowflakeId']);

/** A typed value as the field stores it: numbers for numeric fields, the text otherwise. */
function typed(field: FieldInfo | undefined, raw: string): unknown {
  if (field && NUMERIC.has(String(field.type)) && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  return raw;
}

function ValueInput({
  id,
  field,
  condition,
  onChange,
  testId,
}: {
  id: string;
  field?: FieldInfo;
  condition: FilterCondition;
  onChange(value: unknown): void;
  testId: string;
}) {
  const { t } = useMailTranslation();
  const list = takesList(condition.operator);
  const choices =
    field?.options ??
    (field?.type === 'boolean'
      ? [
          { value: true, label: t('Yes') },
          { value: false, label: t('No') },
        ]
      : undefined);
  if (choices) {
    return (
      <Select
        id={id}
        data-testid={testId}
        mode={list ? 'multiple' : undefined}
        value={condition.value as any}
        onChange={onChange}
        placeholder={t('Value')}
        options={choices.map((o) => ({ value: o.value as any, label: plainTitle(o.label, t) ?? String(o.value) }))}
        style={{ minWidth: 180, flex: 1 }}
      />
    );
  }
  if (list) {
    return (
      <Select
        id={id}
        data-testid={testId}
        mode="tags"
        value={((condition.value as unknown[]) ?? []).map(String)}
        onChange={(values: string[]) => onChange(values.map((v) => typed(field, v)))}
        placeholder={t('Values')}
        open={false}
        style={{ minWidth: 180, flex: 1 }}
      />
    );
  }
  return (
    <Input
      id={id}
      data-testid={testId}
      value={condition.value === undefined ? '' : String(condition.value)}
      onChange={(e) => onChange(typed(field, e.target.value))}
      placeholder={t('Value')}
      style={{ minWidth: 180, flex: 1 }}
    />
  );
}

/**
 * "Only records where …": the conditions a record must meet for mail to be filed on it by its e-mail addresses
 * (the rule's openFilter). A filter the editor cannot show as conditions (set through the API) is shown as JSON and
 * kept until the admin replaces it.
 */
export function OpenFilterInput({
  id,
  value,
  onChange,
  fields,
  disabled,
}: {
  id?: string;
  value?: Record<string, unknown>;
  onChange?: (value: Record<string, unknown> | undefined) => void;
  fields: FieldInfo[];
  disabled?: boolean;
}) {
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const base = id ?? 'open-filter';
  const parsed = conditionsOf(value);
  // Conditions being typed are kept here: the form only holds the complete ones.
  const [draft, setDraft] = useState<FilterCondition[]>(parsed ?? []);
  useEffect(() => {
    const fromValue = conditionsOf(value);
    if (fromValue && JSON.stringify(filterOf(draft)) !== JSON.stringify(filterOf(fromValue))) setDraft(fromValue);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify(value ?? null)]);

  if (parsed === null) {
    return (
      <div id={id} data-testid="open-filter-custom">
        <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12 }}>
          {t('A filter set through the API:')}
        </Typography.Text>
        <Typography.Text code style={{ display: 'block', whiteSpace: 'pre-wrap', margin: '4px 0 8px' }}>
          {JSON.stringify(value)}
        </Typography.Text>
        <Button size="small" disabled={disabled} onClick={() => onChange?.(undefined)}>
          {t('Replace with conditions')}
        </Button>
      </div>
    );
  }

  const options = fields.filter(isFilterField).map((f) => ({ value: f.name, label: plainTitle(f.title, t) || f.name }));
  const update = (next: FilterCondition[]) => {
    setDraft(next);
    onChange?.(filterOf(next));
  };
  const change = (i: number, patch: Partial<FilterCondition>) => update(draft.map((c, k) => (k === i ? { ...c, ...patch } : c)));

  return (
    <div data-testid="open-filter">
      {!draft.length && (
        <Typography.Text type="secondary" style={{ display: 'block', marginBottom: 8 }}>
          {t('Every record')}
        </Typography.Text>
      )}
      {draft.map((condition, i) => {
        const field = fields.find((f) => f.name === condition.field);
        return (
          <div key={i} style={{ display: 'flex', alignItems: 'center', gap: 8, marginBottom: 8 }} data-testid={`open-filter-condition-${i}`}>
            <span style={{ width: 32, flex: 'none', color: token.colorTextSecondary, fontSize: 12 }}>{i > 0 ? t('and') : ''}</span>
            <Space.Compact style={{ display: 'flex', flex: 1, minWidth: 0 }}>
              <Select
                id={`${base}_field_${i}`}
                data-testid={`open-filter-field-${i}`}
                showSearch
                optionFilterProp="label"
                disabled={disabled}
                value={condition.field}
                placeholder={t('Field')}
                options={options}
                onChange={(name) => change(i, { field: name, value: undefined })}
                style={{ width: 200, flex: 'none' }}
              />
              <Select
                id={`${base}_operator_${i}`}
                data-testid={`open-filter-operator-${i}`}
                disabled={disabled}
                value={condition.operator}
                options={FILTER_OPERATORS.map((op) => ({ value: op, label: t(OPERATOR_LABELS[op]) }))}
                onChange={(operator: FilterOperator) =>
                  change(i, { operator, value: takesList(operator) === takesList(condition.operator) ? condition.value : undefined })
                }
                style={{ width: 140, flex: 'none' }}
              />
              {takesValue(condition.operator) && (
                <ValueInput id={`${base}_value_${i}`} field={field} condition={condition} onChange={(v) => change(i, { value: v })} testId={`open-filter-value-${i}`} />
              )}
            </Space.Compact>
            <Button
              type="text"
              icon={<DeleteOutlined />}
              disabled={disabled}
              aria-label={t('Remove condition')}
              title={t('Remove condition')}
              onClick={() => update(draft.filter((_, k) => k !== i))}
            />
          </div>
        );
      })}
      <Button
        size="small"
        type="dashed"
        icon={<PlusOutlined />}
        disabled={disabled}
        onClick={() => setDraft([...draft, { operator: '$ne' }])}
        data-testid="open-filter-add"
      >
        {t('Add condition')}
      </Button>
    </div>
  );
}
