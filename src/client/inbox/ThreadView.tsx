import React, { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert, Avatar, Button, Dropdown, Skeleton, Space, Spin, Tag, Tooltip, Typography, theme } from 'antd';
import {
  ArrowLeftOutlined,
  DownloadOutlined,
  EllipsisOutlined,
  LinkOutlined,
  PaperClipOutlined,
  RollbackOutlined,
  ShareAltOutlined,
  TeamOutlined,
  WarningOutlined,
} from '@ant-design/icons';
import { useAPIClient } from '@nocobase/client';
import { useInboxTranslation as useMailTranslation } from '../inbox/i18n';
import { attachmentUrl, downloadAttachment, errorText, getMessage, listMessages, markSeen } from './api';
import { buildForward, buildReply, ComposeInitial, fileAttachments } from './compose';
import { avatarColor, displayName, fileSize, initials, longDate, shortDate } from './format';
import { MailBody } from './MailBody';
import type { MailAttachment, MailListItem, MailMessage, UsableAccount } from './types';

export interface ThreadViewProps {
  /** the mail the user opened; its thread is shown around it */
  opened: MailListItem;
  accounts: UsableAccount[];
  onCompose(initial: ComposeInitial): void;
  onLink?(message: MailListItem): void;
  onSeen?(id: MailListItem['id']): void;
  /** narrow layouts show a back arrow */
  onBack?(): void;
  /** bump to reload (after a reply was sent) */
  reloadKey?: number;
}

/** One card per Message-ID (a mail to oneself is stored as sent and as received); the opened copy wins. */
function dedupe(rows: MailListItem[], opened: MailListItem): MailListItem[] {
  const seen = new Set<string>();
  const openedFirst = [...rows.filter((r) => String(r.id) === String(opened.id)), ...rows.filter((r) => String(r.id) !== String(opened.id))];
  return openedFirst.filter((r) => {
    const key = r.messageId ? `m:${r.messageId}` : `i:${r.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function useComposeLabels() {
  const { t, i18n } = useMailTranslation();
  const language = i18n.language || 'en-US';
  return {
    language,
    reply: { wrote: (who: string, when: string) => t('On {{date}}, {{sender}} wrote:', { date: when, sender: who }) },
    forward: {
      forwarded: t('Forwarded message'),
      from: t('From'),
      date: t('Date'),
      subject: t('Subject'),
      to: t('To'),
      cc: t('Cc'),
    },
  };
}

/** The messages of a thread, oldest first; the opened one and the newest are expanded. */
export function ThreadView({ opened, accounts, onCompose, onLink, onSeen, onBack, reloadKey = 0 }: ThreadViewProps) {
  const api = useAPIClient();
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const [messages, setMessages] = useState<MailListItem[] | null>(null);
  const [full, setFull] = useState<Record<string, MailMessage>>({});
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const labels = useComposeLabels();
  const account = accounts.find((a) => String(a.id) === String(opened.accountId));

  useEffect(() => {
    let alive = true;
    setError(null);
    (async () => {
      try {
        const rows = opened.threadId
          ? (await listMessages(api, { threadId: opened.threadId, accountId: opened.accountId, pageSize: 100 })).rows
          : [opened];
        const sorted = dedupe(rows.length ? rows : [opened], opened).sort(
          (a, b) => new Date(a.date ?? 0).getTime() - new Date(b.date ?? 0).getTime(),
        );
        if (!alive) return;
        setMessages(sorted);
        setExpanded((prev) => {
          const next = new Set(reloadKey ? prev : []);
          next.add(String(opened.id));
          next.add(String(sorted[sorted.length - 1].id));
          return next;
        });
      } catch (e) {
        if (alive) setError(errorText(e));
      }
    })();
    return () => {
      alive = false;
    };
  }, [api, opened, reloadKey]);

  useEffect(() => {
    if (opened.seen === false && opened.direction !== 'out') {
      markSeen(api, opened.id);
      onSeen?.(opened.id);
    }
    // only when another mail is opened
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [opened.id]);

  const load = useCallback(
    async (id: MailListItem['id']) => {
      if (full[String(id)]) return;
      try {
        const message = await getMessage(api, id);
        setFull((prev) => ({ ...prev, [String(id)]: message }));
      } catch (e) {
        setFull((prev) => ({ ...prev, [String(id)]: { ...(messages?.find((m) => String(m.id) === String(id)) as MailListItem), parseError: errorText(e) } }));
      }
    },
    [api, full, messages],
  );

  useEffect(() => {
    for (const id of expanded) load(id);
  }, [expanded, load]);

  const toggle = (id: MailListItem['id']) =>
    setExpanded((prev) => {
      const next = new Set(prev);
      const key = String(id);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const compose = (message: MailMessage, mode: 'reply' | 'replyAll' | 'forward') => {
    const acc = accounts.find((a) => String(a.id) === String(message.accountId)) ?? account;
    onCompose(
      mode === 'forward'
        ? buildForward(message, acc, labels.forward, labels.language)
        : buildReply(message, acc, mode, labels.reply, labels.language),
    );
  };

  const subject = opened.subject || t('(no subject)');
  const newest = messages ? messages[messages.length - 1] : null;
  const newestFull = newest ? full[String(newest.id)] : undefined;

  return (
    <div data-testid="thread-view" style={{ display: 'flex', flexDirection: 'column', minHeight: 0, height: '100%' }}>
      <div
        style={{
          display: 'flex',
          alignItems: 'center',
          gap: 8,
          padding: '12px 20px',
          borderBottom: `1px solid ${token.colorBorderSecondary}`,
        }}
      >
        {onBack && <Button type="text" icon={<ArrowLeftOutlined />} onClick={onBack} aria-label={t('Back')} />}
        <Typography.Title level={5} style={{ margin: 0, flex: 1, minWidth: 0 }} ellipsis={{ tooltip: subject }} data-testid="thread-subject">
          {subject}
        </Typography.Title>
        {messages && messages.length > 1 && (
          <Tag bordered={false} icon={<TeamOutlined />}>
            {t('{{count}} messages', { count: messages.length })}
          </Tag>
        )}
        {onLink && (
          <Button icon={<LinkOutlined />} onClick={() => onLink(opened)} data-testid="link-to-record">
            {t('Link to record')}
          </Button>
        )}
      </div>
      <div style={{ flex: 1, minHeight: 0, overflow: 'auto', padding: '12px 20px 20px', background: token.colorBgLayout }}>
        {error && <Alert type="error" showIcon message={t('The conversation could not be loaded.')} description={error} />}
        {!messages && !error && <Skeleton active avatar paragraph={{ rows: 6 }} />}
        {messages?.map((m) => (
          <MessageCard
            key={String(m.id)}
            item={m}
            message={full[String(m.id)]}
            expanded={expanded.has(String(m.id))}
            ownAccount={account}
            onToggle={() => toggle(m.id)}
            onCompose={(mode) => full[String(m.id)] && compose(full[String(m.id)], mode)}
            onLink={onLink ? () => onLink(m) : undefined}
          />
        ))}
        {newest && (
          <Space style={{ marginTop: 4 }} wrap>
            <Button icon={<RollbackOutlined />} disabled={!newestFull} onClick={() => newestFull && compose(newestFull, 'reply')} data-testid="reply">
              {t('Reply')}
            </Button>
            <Button icon={<TeamOutlined />} disabled={!newestFull} onClick={() => newestFull && compose(newestFull, 'replyAll')} data-testid="reply-all">
              {t('Reply all')}
            </Button>
            <Button icon={<ShareAltOutlined />} disabled={!newestFull} onClick={() => newestFull && compose(newestFull, 'forward')} data-testid="forward">
              {t('Forward')}
            </Button>
          </Space>
        )}
      </div>
    </div>
  );
}

function MessageCard({
  item,
  message,
  expanded,
  ownAccount,
  onToggle,
  onCompose,
  onLink,
}: {
  item: MailListItem;
  message?: MailMessage;
  expanded: boolean;
  ownAccount?: UsableAccount;
  onToggle(): void;
  onCompose(mode: 'reply' | 'replyAll' | 'forward'): void;
  onLink?(): void;
}) {
  const { t, i18n } = useMailTranslation();
  const { token } = theme.useToken();
  const language = i18n.language || 'en-US';
  const sender = item.from;
  const name = displayName(sender) || t('Unknown sender');
  const recipients = (list?: Array<{ name?: string; address: string }>) =>
    (list ?? [])
      .map((a) => (ownAccount && a.address?.toLowerCase() === ownAccount.address.toLowerCase() ? t('me') : displayName(a)))
      .join(', ');

  return (
    <div
      data-testid="thread-message"
      data-message-id={String(item.id)}
      data-expanded={expanded ? 'true' : 'false'}
      style={{
        background: token.colorBgContainer,
        border: `1px solid ${token.colorBorderSecondary}`,
        borderRadius: token.borderRadiusLG,
        marginBottom: 12,
        boxShadow: expanded ? token.boxShadowTertiary : undefined,
      }}
    >
      <div
        role="button"
        tabIndex={0}
        onClick={onToggle}
        onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && onToggle()}
        style={{ display: 'flex', gap: 12, alignItems: 'flex-start', padding: '12px 16px', cursor: 'pointer' }}
      >
        <Avatar style={{ background: avatarColor(sender?.address ?? name), flex: 'none' }}>{initials(sender)}</Avatar>
        <div style={{ flex: 1, minWidth: 0 }}>
          <div style={{ display: 'flex', alignItems: 'baseline', gap: 8 }}>
            <Typography.Text strong ellipsis style={{ maxWidth: '60%' }}>
              {name}
            </Typography.Text>
            {expanded && sender?.address && sender.address !== name && (
              <Typography.Text type="secondary" ellipsis style={{ fontSize: 12 }}>
                &lt;{sender.address}&gt;
              </Typography.Text>
            )}
            <span style={{ flex: 1 }} />
            {item.hasAttachments && <PaperClipOutlined style={{ color: token.colorTextTertiary }} />}
            <Tooltip title={longDate(item.date, language)}>
              <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
                {shortDate(item.date, language)}
              </Typography.Text>
            </Tooltip>
            {expanded && (
              <span onClick={(e) => e.stopPropagation()} style={{ display: 'inline-flex' }}>
                <Tooltip title={t('Reply')}>
                  <Button type="text" size="small" icon={<RollbackOutlined />} disabled={!message} onClick={() => onCompose('reply')} aria-label={t('Reply')} />
                </Tooltip>
                <Dropdown
                  trigger={['click']}
                  menu={{
                    items: [
                      { key: 'replyAll', icon: <TeamOutlined />, label: t('Reply all'), disabled: !message },
                      { key: 'forward', icon: <ShareAltOutlined />, label: t('Forward'), disabled: !message },
                      ...(onLink ? [{ type: 'divider' as const }, { key: 'link', icon: <LinkOutlined />, label: t('Link to record') }] : []),
                    ],
                    onClick: ({ key }) => (key === 'link' ? onLink?.() : onCompose(key as 'replyAll' | 'forward')),
                  }}
                >
                  <Button type="text" size="small" icon={<EllipsisOutlined />} aria-label={t('More')} />
                </Dropdown>
              </span>
            )}
          </div>
          {expanded ? (
            <Typography.Text type="secondary" style={{ fontSize: 12 }} ellipsis>
              {t('to {{list}}', { list: recipients(item.to) || '—' })}
              {message?.cc?.length ? ` · ${t('cc {{list}}', { list: recipients(message.cc) })}` : ''}
            </Typography.Text>
          ) : (
            <Typography.Text type="secondary" ellipsis style={{ display: 'block' }}>
              {item.snippet}
            </Typography.Text>
          )}
        </div>
      </div>
      {expanded && (
        <div style={{ padding: '0 16px 16px 60px' }}>
          {!message ? (
            <Spin size="small" />
          ) : (
            <>
              {message.parseError && (
                <Alert
                  type="warning"
                  showIcon
                  icon={<WarningOutlined />}
                  style={{ marginBottom: 12 }}
                  message={t('Part of this mail could not be read.')}
                  description={message.parseError}
                />
              )}
              <MailBody html={message.html} text={message.text ?? message.snippet} messageId={message.id} />
              <Attachments list={message.attachments ?? []} />
            </>
          )}
        </div>
      )}
    </div>
  );
}

function Attachments({ list }: { list: MailAttachment[] }) {
  const api = useAPIClient();
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const visible = useMemo(() => fileAttachments(list), [list]);
  if (!visible.length) return null;
  return (
    <div style={{ marginTop: 16 }} data-testid="attachments">
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        <PaperClipOutlined /> {t('{{count}} attachments', { count: visible.length })}
      </Typography.Text>
      <div style={{ display: 'flex', flexWrap: 'wrap', gap: 8, marginTop: 8 }}>
        {visible.map((a) => {
          const name = a.filename || t('attachment');
          return (
            <a
              key={String(a.id)}
              href={attachmentUrl(api, a.id)}
              data-testid="attachment"
              onClick={async (e) => {
                e.preventDefault();
                setBusy(String(a.id));
                setError(null);
                try {
                  await downloadAttachment(api, a.id, name);
                } catch (err) {
                  setError(errorText(err));
                } finally {
                  setBusy(null);
                }
              }}
              style={{
                display: 'inline-flex',
                alignItems: 'center',
                gap: 8,
                maxWidth: 260,
                padding: '6px 10px',
                border: `1px solid ${token.colorBorder}`,
                borderRadius: token.borderRadius,
                color: token.colorText,
                background: token.colorFillQuaternary,
              }}
            >
              {busy === String(a.id) ? <Spin size="small" /> : <DownloadOutlined style={{ color: token.colorPrimary }} />}
              <span style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>{name}</span>
              <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
                {fileSize(a.size)}
              </Typography.Text>
            </a>
          );
        })}
      </div>
      {error && <Alert type="error" showIcon style={{ marginTop: 8 }} message={t('The attachment could not be downloaded.')} description={error} />}
    </div>
  );
}

