import React, { useCallback, useEffect, useState } from 'react';
import { Alert, Button, Empty, Pagination, Popconfirm, Skeleton, Space, Tag, Tooltip, Typography, theme } from 'antd';
import { CheckCircleOutlined, DeleteOutlined, PaperClipOutlined, RedoOutlined } from '@ant-design/icons';
import { useAPIClient } from '@nocobase/client';
import { useInboxTranslation as useMailTranslation } from '../inbox/i18n';
import { useMessage } from '../settings/feedback';
import { useErrorSummary } from '../settings/errorSummary';
import { discardOutbox, errorText, listOutbox, retryOutbox } from './api';
import { usePage } from './usePage';
import { addressList, longDate, shortDate } from './format';
import type { OutboxEntry, UsableAccount } from './types';

/** While something is queued or sending, the list looks again this often. */
const BUSY_POLL_MS = 5000;
const PAGE_SIZE = 50;

export const INTERRUPTED = 'INTERRUPTED';

/** Failed once and waits in the queue for its next attempt. */
export function waitsForRetry(entry: OutboxEntry): boolean {
  return entry.state === 'queued' && (entry.attempts ?? 0) > 0;
}

function useStateTag() {
  const { t } = useMailTranslation();
  return (entry: OutboxEntry) => {
    if (entry.state === 'failed' && entry.errorCode === INTERRUPTED) return <Tag color="warning">{t('Interrupted')}</Tag>;
    if (entry.state === 'failed') return <Tag color="error">{t('Failed')}</Tag>;
    if (entry.state === 'sending') return <Tag color="processing">{t('Sending')}</Tag>;
    if (waitsForRetry(entry)) return <Tag color="gold">{t('Waiting to retry')}</Tag>;
    return <Tag color="blue">{t('Queued')}</Tag>;
  };
}

/**
 * The account's mails that have not gone out: queued, being sent, or failed. Failed ones show the provider's
 * answer and can be sent again or discarded; an interrupted one may already have been delivered, so sending it
 * again asks first.
 */
export function OutboxView({
  accountId,
  reloadKey,
  onChanged,
}: {
  accountId: UsableAccount['id'];
  reloadKey: number;
  /** after a retry or discard: the folder counts and the Sent folder change */
  onChanged(): void;
}) {
  const api = useAPIClient();
  const messageApi = useMessage();
  const { t, i18n } = useMailTranslation();
  const { token } = theme.useToken();
  const stateTag = useStateTag();
  const errorSummary = useErrorSummary();
  const language = i18n.language || 'en-US';
  const [page, setPage] = useState(1);
  const [busyId, setBusyId] = useState<OutboxEntry['id'] | null>(null);
  const { rows, total, loading, error, load: loadPage } = usePage<OutboxEntry>(true);
  const load = useCallback(
    () => loadPage(() => listOutbox(api, accountId, page, PAGE_SIZE), { silent: true }),
    [loadPage, api, accountId, page],
  );

  useEffect(() => {
    load();
  }, [load, reloadKey]);

  const inFlight = rows.some((r) => r.state === 'queued' || r.state === 'sending');
  useEffect(() => {
    if (!inFlight) return;
    const timer = setInterval(() => document.visibilityState === 'visible' && load(), BUSY_POLL_MS);
    return () => clearInterval(timer);
  }, [inFlight, load]);

  const act = async (entry: OutboxEntry, action: 'retry' | 'discard') => {
    setBusyId(entry.id);
    try {
      if (action === 'discard') {
        await discardOutbox(api, entry.id);
        messageApi.success(t('Mail discarded.'));
      } else {
        const settled = await retryOutbox(api, entry.id);
        if (settled?.state === 'failed') messageApi.error(t('Sending failed again: {{error}}', { error: settled.lastError || '' }));
        else messageApi.success(settled?.state === 'sent' ? t('Mail sent.') : t('Mail queued; it will be sent shortly.'));
      }
    } catch (e) {
      messageApi.error(errorText(e));
    } finally {
      setBusyId(null);
      await load();
      onChanged();
    }
  };

  if (loading && !rows.length) {
    return (
      <div style={{ padding: 16 }}>
        <Skeleton active paragraph={{ rows: 6 }} />
      </div>
    );
  }

  return (
    <div style={{ display: 'flex', flexDirection: 'column', height: '100%', minHeight: 0 }} data-testid="outbox">
      <div style={{ padding: '10px 16px 6px', display: 'flex', alignItems: 'baseline', gap: 8 }}>
        <Typography.Text strong>{t('Outbox')}</Typography.Text>
        <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="outbox-count">
          {t('{{count}} mails', { count: total })}
        </Typography.Text>
      </div>
      {error && <Alert type="error" showIcon style={{ margin: '0 12px 8px' }} message={t('The outbox could not be loaded.')} description={error} />}
      {!rows.length && !error ? (
        <Empty
          image={<CheckCircleOutlined style={{ fontSize: 44, color: token.colorSuccess }} />}
          imageStyle={{ height: 52 }}
          description={<span data-testid="outbox-empty">{t('Nothing waiting: every mail has gone out.')}</span>}
          style={{ marginTop: 64 }}
        />
      ) : (
        <div style={{ flex: 1, minHeight: 0, overflow: 'auto' }}>
          {rows.map((entry) => {
            const failed = entry.state === 'failed';
            const interrupted = failed && entry.errorCode === INTERRUPTED;
            // failed once, and waits for its next attempt: not on its way until then, so it can be dropped
            const waiting = waitsForRetry(entry) && !!entry.nextAttemptAt;
            const summary = failed || waiting ? errorSummary(entry.errorCode) : null;
            const discardButton = (
              <Popconfirm
                title={t('Discard this mail?')}
                description={t('It will not be sent and cannot be restored.')}
                okText={t('Discard')}
                okButtonProps={{ danger: true }}
                cancelText={t('Cancel')}
                onConfirm={() => act(entry, 'discard')}
              >
                <Button size="small" danger type="text" icon={<DeleteOutlined />} disabled={busyId !== null} data-testid="outbox-discard">
                  {t('Discard')}
                </Button>
              </Popconfirm>
            );
            const retryButton = (
              <Button size="small" icon={<RedoOutlined />} loading={busyId === entry.id} disabled={busyId !== null && busyId !== entry.id} data-testid="outbox-retry" onClick={interrupted ? undefined : () => act(entry, 'retry')}>
                {t('Send again')}
              </Button>
            );
            return (
              <div
                key={String(entry.id)}
                data-testid="outbox-row"
                data-state={entry.state}
                style={{ padding: '10px 16px', borderBottom: `1px solid ${token.colorBorderSecondary}` }}
              >
                <div style={{ display: 'flex', alignItems: 'center', gap: 8 }}>
                  {stateTag(entry)}
                  <Typography.Text strong ellipsis style={{ flex: 1, minWidth: 0 }} data-testid="outbox-subject">
                    {entry.subject || t('(no subject)')}
                  </Typography.Text>
                  {(entry.attachmentCount ?? 0) > 0 && <PaperClipOutlined aria-label={t('Has attachments')} style={{ color: token.colorTextSecondary }} />}
                  <Tooltip title={longDate(entry.createdAt, language)}>
                    <span style={{ fontSize: 12, whiteSpace: 'nowrap', color: token.colorTextTertiary }}>{shortDate(entry.createdAt, language)}</span>
                  </Tooltip>
                </div>
                <Typography.Text type="secondary" ellipsis style={{ display: 'block', fontSize: 13, marginTop: 2 }}>
                  {t('To: {{list}}', { list: addressList([...(entry.to ?? []), ...(entry.cc ?? [])]) || '—' })}
                </Typography.Text>
                {waiting && (
                  <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12, marginTop: 2 }}>
                    {t('Attempt {{n}} failed; next attempt {{when}}.', { n: entry.attempts, when: longDate(entry.nextAttemptAt!, language) })}
                  </Typography.Text>
                )}
                {(failed || (waiting && entry.lastError)) && (
                  <Typography.Paragraph type={interrupted ? 'warning' : failed ? 'danger' : 'secondary'} style={{ fontSize: 13, margin: '6px 0' }} data-testid="outbox-error">
                    {summary && <Typography.Text strong type={interrupted ? 'warning' : failed ? 'danger' : undefined}>{summary.title}: </Typography.Text>}
                    {entry.lastError || t('The mail could not be sent.')}
                  </Typography.Paragraph>
                )}
                {waiting && <Space size={8}>{discardButton}</Space>}
                {failed && (
                  <Space size={8}>
                    {interrupted ? (
                      <Popconfirm
                        title={t('Send this mail again?')}
                        description={t('It may have been delivered already. Look in the Sent folder first.')}
                        okText={t('Send again')}
                        cancelText={t('Cancel')}
                        onConfirm={() => act(entry, 'retry')}
                      >
                        {retryButton}
                      </Popconfirm>
                    ) : (
                      retryButton
                    )}
                    {discardButton}
                  </Space>
                )}
              </div>
            );
          })}
        </div>
      )}
      {total > PAGE_SIZE && (
        <div style={{ padding: '8px 12px', borderTop: `1px solid ${token.colorBorderSecondary}`, display: 'flex', justifyContent: 'center' }}>
          <Pagination simple size="small" current={page} pageSize={PAGE_SIZE} total={total} onChange={setPage} />
        </div>
      )}
    </div>
  );
}
