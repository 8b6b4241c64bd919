import React from 'react';
import { Empty, Pagination, Skeleton, Tooltip, Typography, theme } from 'antd';
import { PaperClipOutlined, WarningOutlined } from '@ant-design/icons';
import { useInboxTranslation as useMailTranslation } from '../inbox/i18n';
import { addressList, displayName, longDate, shortDate } from './format';
import type { MailListItem } from './types';

export function MessageList({
  rows,
  loading,
  selectedId,
  showRecipients,
  page,
  pageSize,
  total,
  emptyText,
  onOpen,
  onPage,
}: {
  rows: MailListItem[];
  loading: boolean;
  selectedId?: MailListItem['id'];
  /** the Sent folder lists whom a mail went to */
  showRecipients: boolean;
  page: number;
  pageSize: number;
  total: number;
  emptyText: string;
  onOpen(row: MailListItem): void;
  onPage(page: number): void;
}) {
  const { t, i18n } = useMailTranslation();
  const { token } = theme.useToken();
  const language = i18n.language || 'en-US';

  if (loading && !rows.length) {
    return (
      <div style={{ padding: 16 }}>
        <Skeleton active paragraph={{ rows: 8 }} />
      </div>
    );
  }
  if (!rows.length) {
    return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={emptyText} style={{ marginTop: 64 }} />;
  }
  return (
    <div style={{ display: 'flex', flexDirection: 'column', height: '100%', minHeight: 0 }}>
      <div data-testid="mail-list" style={{ flex: 1, minHeight: 0, overflow: 'auto', opacity: loading ? 0.6 : 1 }}>
        {rows.map((row) => {
          const unread = row.seen === false && row.direction !== 'out';
          const selected = selectedId !== undefined && String(selectedId) === String(row.id);
          const who = showRecipients
            ? t('To: {{list}}', { list: addressList(row.to) || '—' })
            : displayName(row.from) || t('Unknown sender');
          return (
            <div
              key={String(row.id)}
              role="button"
              tabIndex={0}
              data-testid="mail-row"
              data-unread={unread ? 'true' : 'false'}
              data-selected={selected ? 'true' : 'false'}
              onClick={() => onOpen(row)}
              onKeyDown={(e) => e.key === 'Enter' && onOpen(row)}
              className="mailbridge-mail-row"
              style={{
                position: 'relative',
                padding: '10px 16px 10px 22px',
                cursor: 'pointer',
                borderBottom: `1px solid ${token.colorBorderSecondary}`,
                background: selected ? token.colorPrimaryBg : undefined,
                transition: 'background 0.15s',
              }}
              onMouseEnter={(e) => !selected && (e.currentTarget.style.background = token.colorFillQuaternary)}
              onMouseLeave={(e) => !selected && (e.currentTarget.style.background = '')}
            >
              {unread && (
                <span
                  aria-label={t('Unread')}
                  style={{
                    position: 'absolute',
                    left: 8,
                    top: 17,
                    width: 7,
                    height: 7,
                    borderRadius: '50%',
                    background: token.colorPrimary,
                  }}
                />
              )}
              <div style={{ display: 'flex', alignItems: 'baseline', gap: 8 }}>
                <span
                  style={{
                    flex: 1,
                    minWidth: 0,
                    overflow: 'hidden',
                    textOverflow: 'ellipsis',
                    whiteSpace: 'nowrap',
                    fontWeight: unread ? 600 : 400,
                    color: token.colorText,
                  }}
                  data-testid="mail-row-sender"
                >
                  {who}
                </span>
                {row.parseError && (
                  <Tooltip title={t('Part of this mail could not be read.')}>
                    <WarningOutlined style={{ color: token.colorWarning }} />
                  </Tooltip>
                )}
                {row.hasAttachments && (
                  <PaperClipOutlined aria-label={t('Has attachments')} data-testid="mail-row-attachment" style={{ color: token.colorTextSecondary }} />
                )}
                <Tooltip title={longDate(row.date, language)}>
                  <span
                    style={{
                      fontSize: 12,
                      whiteSpace: 'nowrap',
                      color: unread ? token.colorPrimary : token.colorTextTertiary,
                      fontWeight: unread ? 600 : 400,
                    }}
                  >
                    {shortDate(row.date, language)}
                  </span>
                </Tooltip>
              </div>
              <div
                data-testid="mail-row-subject"
                style={{
                  overflow: 'hidden',
                  textOverflow: 'ellipsis',
                  whiteSpace: 'nowrap',
                  fontWeight: unread ? 600 : 400,
                  color: token.colorText,
                  marginTop: 2,
                }}
              >
                {row.subject || t('(no subject)')}
              </div>
              <Typography.Text type="secondary" ellipsis style={{ display: 'block', fontSize: 13, marginTop: 2 }}>
                {row.snippet || '\u00a0'}
              </Typography.Text>
            </div>
          );
        })}
      </div>
      {total > pageSize && (
        <div style={{ padding: '8px 12px', borderTop: `1px solid ${token.colorBorderSecondary}`, display: 'flex', justifyContent: 'center' }}>
          <Pagination simple size="small" current={page} pageSize={pageSize} total={total} onChange={onPage} data-testid="mail-pagination" />
        </div>
      )}
    </div>
  );
}
