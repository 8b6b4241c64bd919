import React, { useCallback, useEffect, useState } from 'react';
import { Alert, Avatar, Button, Drawer, Empty, Pagination, Popconfirm, Skeleton, Tag, Tooltip, Typography, theme } from 'antd';
import { DisconnectOutlined, EditOutlined, MailOutlined, PaperClipOutlined, ReloadOutlined } from '@ant-design/icons';
import { useAPIClient } from '@nocobase/client';
import { useInboxTranslation as useMailTranslation } from '../inbox/i18n';
import { FeedbackProvider, useMessage } from '../settings/feedback';
import { errorText, listLinkedThreads, unlinkFromRecord } from '../inbox/api';
import { ComposeDrawer } from '../inbox/ComposeDrawer';
import { ComposeInitial, emptyCompose } from '../inbox/compose';
import { avatarColor, displayName, initials, longDate, shortDate } from '../inbox/format';
import { ThreadView } from '../inbox/ThreadView';
import type { LinkedThread, MailListItem } from '../inbox/types';
import { useUsableAccounts } from '../inbox/useUsableAccounts';
import type { RecordTarget } from './recordContext';

export function MailHistoryView(props: { target: RecordTarget; pageSize?: number }) {
  return (
    <FeedbackProvider>
      <MailHistory {...props} />
    </FeedbackProvider>
  );
}

function MailHistory({ target, pageSize = 10 }: { target: RecordTarget; pageSize?: number }) {
  const api = useAPIClient();
  const { t, i18n } = useMailTranslation();
  const { token } = theme.useToken();
  const messageApi = useMessage();
  const language = i18n.language || 'en-US';
  const { accounts } = useUsableAccounts();
  const [rows, setRows] = useState<LinkedThread[] | null>(null);
  const [total, setTotal] = useState(0);
  const [page, setPage] = useState(1);
  const [error, setError] = useState<string | null>(null);
  const [opened, setOpened] = useState<MailListItem | null>(null);
  const [compose, setCompose] = useState<ComposeInitial | null>(null);
  const [reload, setReload] = useState(0);
  const ready = Boolean(target.collection && target.recordId);
  const record = ready ? { collection: target.collection as string, id: target.recordId as string } : undefined;

  const load = useCallback(async () => {
    if (!ready) return;
    try {
      const result = await listLinkedThreads(api, { collection: target.collection!, recordId: target.recordId! }, page, pageSize);
      setRows(result.rows);
      setTotal(result.count);
      setError(null);
    } catch (e) {
      setError(errorText(e));
      setRows([]);
    }
  }, [api, ready, target.collection, target.recordId, page, pageSize]);

  useEffect(() => {
    load();
  }, [load, reload]);

  if (!ready) {
    return (
      <Alert
        data-testid="mail-history-unbound"
        type="info"
        showIcon
        message={t('Mail history')}
        description={t(
          'This block lists the mails of a record. Add it to a record’s details popup or page, or set the collection and record ID in the block settings.',
        )}
      />
    );
  }

  const unlink = async (row: LinkedThread) => {
    try {
      await unlinkFromRecord(api, row.link.id);
      messageApi.success(t('The conversation was removed from this record.'));
      setReload((n) => n + 1);
    } catch (e) {
      messageApi.error(errorText(e));
    }
  };

  return (
    <div data-testid="mail-history" data-collection={target.collection} data-record-id={target.recordId}>
      <div style={{ display: 'flex', alignItems: 'center', gap: 8, marginBottom: 12 }}>
        <MailOutlined style={{ color: token.colorPrimary }} />
        <Typography.Text strong>{t('E-mail')}</Typography.Text>
        {rows && (
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t('{{count}} conversations', { count: total })}
          </Typography.Text>
        )}
        <span style={{ flex: 1 }} />
        <Tooltip title={t('Refresh')}>
          <Button size="small" type="text" icon={<ReloadOutlined />} onClick={() => setReload((n) => n + 1)} aria-label={t('Refresh')} />
        </Tooltip>
        <Button
          type="primary"
          size="small"
          icon={<EditOutlined />}
          disabled={!accounts.length}
          onClick={() => setCompose(emptyCompose(accounts[0]?.id))}
          data-testid="history-write"
        >
          {t('Write e-mail')}
        </Button>
      </div>
      {error && <Alert type="error" showIcon message={t('The mail history could not be loaded.')} description={error} style={{ marginBottom: 12 }} />}
      {!rows && <Skeleton active avatar paragraph={{ rows: 3 }} />}
      {rows && !rows.length && !error && (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('No mails are filed on this record yet.')} />
      )}
      {rows?.map((row) => {
        const last = row.lastMessage;
        const sender = last?.from;
        const unread = last?.seen === false && last?.direction !== 'out';
        return (
          <div
            key={String(row.id)}
            data-testid="history-thread"
            role="button"
            tabIndex={0}
            onClick={() => last && setOpened(last)}
            onKeyDown={(e) => e.key === 'Enter' && last && setOpened(last)}
            style={{
              display: 'flex',
              gap: 12,
              padding: '10px 12px',
              borderRadius: token.borderRadius,
              border: `1px solid ${token.colorBorderSecondary}`,
              marginBottom: 8,
              cursor: last ? 'pointer' : 'default',
              background: token.colorBgContainer,
            }}
          >
            <Avatar style={{ background: avatarColor(sender?.address ?? String(row.id)), flex: 'none' }}>{initials(sender)}</Avatar>
            <div style={{ flex: 1, minWidth: 0 }}>
              <div style={{ display: 'flex', alignItems: 'baseline', gap: 8 }}>
                <Typography.Text strong={unread} ellipsis style={{ flex: 1, minWidth: 0 }}>
                  {row.subject || last?.subject || t('(no subject)')}
                </Typography.Text>
                {(row.messageCount ?? 0) > 1 && (
                  <Tag bordered={false} style={{ marginInlineEnd: 0 }}>
                    {row.messageCount}
                  </Tag>
                )}
                {last?.hasAttachments && <PaperClipOutlined style={{ color: token.colorTextTertiary }} />}
                <Tooltip title={longDate(row.lastMessageAt ?? last?.date, language)}>
                  <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
                    {shortDate(row.lastMessageAt ?? last?.date, language)}
                  </Typography.Text>
                </Tooltip>
                <span onClick={(e) => e.stopPropagation()}>
                  <Popconfirm title={t('Remove this conversation from the record?')} okText={t('Remove')} cancelText={t('Cancel')} onConfirm={() => unlink(row)}>
                    <Button type="text" size="small" icon={<DisconnectOutlined />} aria-label={t('Remove from record')} />
                  </Popconfirm>
                </span>
              </div>
              <Typography.Text type="secondary" ellipsis style={{ display: 'block', fontSize: 13 }}>
                {last?.direction === 'out' ? `${t('You')}: ` : sender ? `${displayName(sender)}: ` : ''}
                {last?.snippet ?? ''}
              </Typography.Text>
            </div>
          </div>
        );
      })}
      {total > pageSize && (
        <div style={{ display: 'flex', justifyContent: 'flex-end' }}>
          <Pagination size="small" simple current={page} pageSize={pageSize} total={total} onChange={setPage} />
        </div>
      )}
      <Drawer
        open={Boolean(opened)}
        onClose={() => setOpened(null)}
        width={820}
        destroyOnClose
        {...({ styles: { body: { padding: 0 } } } as Record<string, unknown>)}
        title={t('Conversation')}
        data-testid="history-thread-drawer"
      >
        {opened && (
          <div style={{ height: '100%' }}>
            <ThreadView opened={opened} accounts={accounts} onCompose={setCompose} reloadKey={reload} />
          </div>
        )}
      </Drawer>
      <ComposeDrawer
        open={Boolean(compose)}
        initial={compose}
        accounts={accounts}
        record={record}
        onClose={() => setCompose(null)}
        onSent={() => setTimeout(() => setReload((n) => n + 1), 500)}
      />
    </div>
  );
}
