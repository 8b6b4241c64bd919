import React from 'react';
import { Card, Col, Row, Tag, Typography, theme } from 'antd';
import { useMailTranslation } from '../locale';
import { PROVIDERS } from './providerCatalog';
import { ProviderIcon } from './ProviderIcon';
import type { ProviderKey } from './types';

/** Step 1 of "Add account": six cards, one per provider. */
export function ProviderPicker({ value, onPick }: { value?: ProviderKey | null; onPick(provider: ProviderKey): void }) {
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  return (
    <Row gutter={[16, 16]} data-testid="provider-picker">
      {PROVIDERS.map((p) => {
        const selected = value === p.key;
        return (
          <Col key={p.key} xs={24} sm={12}>
            <Card
              hoverable
              size="small"
              role="button"
              tabIndex={0}
              aria-pressed={selected}
              data-testid={`provider-card-${p.key}`}
              onClick={() => onPick(p.key)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  onPick(p.key);
                }
              }}
              style={{ height: '100%', borderColor: selected ? token.colorPrimary : undefined }}
              bodyStyle={{ display: 'flex', gap: 14, padding: 16, height: '100%' }}
            >
              <ProviderIcon provider={p.key} size={44} />
              <div style={{ display: 'flex', flexDirection: 'column', minWidth: 0, flex: 1 }}>
                <Typography.Text strong style={{ fontSize: 15 }}>
                  {t(`provider.${p.key}`)}
                </Typography.Text>
                <Typography.Text type="secondary" style={{ marginTop: 2, marginBottom: 10, flex: 1 }}>
                  {t(p.description)}
                </Typography.Text>
                <div>
                  <Tag bordered={false} color="blue">
                    {t('Sends')}
                  </Tag>
                  {p.receives ? (
                    <Tag bordered={false} color="green">
                      {t('Receives')}
                    </Tag>
                  ) : (
                    <Tag bordered={false}>{t('No incoming mail')}</Tag>
                  )}
                </div>
              </div>
            </Card>
          </Col>
        );
      })}
    </Row>
  );
}
