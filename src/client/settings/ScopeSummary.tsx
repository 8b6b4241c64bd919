import React from 'react';
import { Space, Tag, Typography } from 'antd';
import { useMailTranslation } from '../locale';
import { requestedScopes, ScopePreset } from './providerCatalog';

/** "Will request: Mail.Read, …" for the chosen scope preset plus the extra scopes, or for fixed `scopes`. */
export function ScopeSummary({
  kind,
  preset,
  extraScopes,
  scopes: fixed,
}: {
  kind: 'app' | 'delegated';
  preset?: ScopePreset;
  extraScopes?: string[];
  scopes?: string[];
}) {
  const { t } = useMailTranslation();
  const scopes = fixed ?? requestedScopes(kind, preset, extraScopes);
  return (
    <div data-testid="scope-summary" style={{ display: 'flex', gap: 8, alignItems: 'baseline', flexWrap: 'wrap' }}>
      <Typography.Text type="secondary">
        {kind === 'app' ? t('Application permissions to grant in Entra ID:') : t('Will request:')}
      </Typography.Text>
      <Space size={[4, 4]} wrap>
        {scopes.map((s) => (
          <Tag key={s} bordered={false} color="blue" style={{ marginInlineEnd: 0 }}>
            {s}
          </Tag>
        ))}
      </Space>
    </div>
  );
}
