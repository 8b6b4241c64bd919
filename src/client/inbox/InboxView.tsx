import React, { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { Alert, Button, Empty, Input, Select, Space, Spin, Tooltip, Typography, theme } from 'antd';
import { EditOutlined, MailOutlined, ReloadOutlined } from '@ant-design/icons';
import { useAPIClient } from '@nocobase/client';
import { useInboxTranslation as useMailTranslation } from '../inbox/i18n';
import { FeedbackProvider } from '../settings/feedback';
import { ProviderIcon } from '../settings/ProviderIcon';
import { listFolders, listMessages, listOutbox } from './api';
import { ComposeDrawer } from './ComposeDrawer';
import { ComposeInitial, emptyCompose } from './compose';
import { FolderList, folderKind, OUTBOX_KEY, OutboxCounts, useFolderLabel } from './FolderList';
import { LinkRecordModal } from './LinkRecordModal';
import { MessageList } from './MessageList';
import { OutboxView } from './OutboxView';
import { ThreadView } from './ThreadView';
import type { MailFolder, MailListItem, UsableAccount } from './types';
import { usePage } from './usePage';
import { useUsableAccounts } from './useUsableAccounts';

export interface InboxViewProps {
  pageSize?: number;
  height?: number;
}

const POLL_MS = 30000;
const SENT_FOLDER: MailFolder = { folder: 'Sent', specialUse: 'sent', total: 0, unread: 0 };
/** Until the first sync (or when the list fails): a send-only account files its mail in Sent alone. */
const fallbackFolders = (receives: boolean): MailFolder[] =>
  !receives ? [SENT_FOLDER] : [{ folder: 'INBOX', specialUse: 'inbox', total: 0, unread: 0 }, SENT_FOLDER];

function useWidth(ref: React.RefObject<HTMLElement>) {
  const [width, setWidth] = useState(1200);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

export function InboxView(props: InboxViewProps) {
  return (
    <FeedbackProvider>
      <Inbox {...props} />
    </FeedbackProvider>
  );
}

function Inbox({ pageSize = 20, height = 680 }: InboxViewProps) {
  const api = useAPIClient();
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const folderLabel = useFolderLabel();
  const rootRef = useRef<HTMLDivElement>(null);
  const width = useWidth(rootRef);
  const compact = width < 860;

  const { accounts, loading: accountsLoading, error: accountsError } = useUsableAccounts();
  const [accountId, setAccountId] = useState<UsableAccount['id'] | undefined>();
  const [folders, setFolders] = useState<MailFolder[]>([]);
  const [folder, setFolder] = useState<string | undefined>();
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  const { rows, setRows, total, loading, error, load: loadPage } = usePage<MailListItem>();
  const [opened, setOpened] = useState<MailListItem | null>(null);
  const [compose, setCompose] = useState<ComposeInitial | null>(null);
  const [linkTarget, setLinkTarget] = useState<MailListItem | null>(null);
  const [threadReload, setThreadReload] = useState(0);
  const [outboxCounts, setOutboxCounts] = useState<OutboxCounts | undefined>();

  useEffect(() => {
    if (accountId === undefined && accounts.length) {
      setAccountId((accounts.find((a) => a.canReceive !== false) ?? accounts[0]).id);
    }
  }, [accounts, accountId]);

  const receives = accounts.find((a) => String(a.id) === String(accountId))?.canReceive !== false;
  const loadFolders = useCallback(async () => {
    if (accountId === undefined) return;
    try {
      const list = await listFolders(api, accountId);
      setFolders(list.length ? list : fallbackFolders(receives));
    } catch {
      setFolders(fallbackFolders(receives));
    }
    try {
      const outbox = await listOutbox(api, accountId, 1, 1);
      setOutboxCounts({ count: outbox.count, failed: outbox.failed });
    } catch {
      setOutboxCounts(undefined);
    }
  }, [api, accountId, receives]);

  useEffect(() => {
    setFolders([]);
    setFolder(undefined);
    setOpened(null);
    setPage(1);
    loadFolders();
  }, [loadFolders]);

  // the first folder shown is the inbox; a folder that left the list (the fallback's, after the first sync) too
  useEffect(() => {
    if (!folders.length) return;
    const gone = folder !== undefined && folder !== OUTBOX_KEY && !folders.some((f) => f.folder === folder);
    if (folder === undefined || gone) setFolder((folders.find((f) => folderKind(f) === 'inbox') ?? folders[0]).folder);
  }, [folders, folder]);

  const loadList = useCallback(
    async ({ silent = false } = {}) => {
      if (accountId === undefined || folder === undefined || folder === OUTBOX_KEY) return;
      await loadPage(() => listMessages(api, { accountId, folder, q: q || undefined, page, pageSize }), { silent });
    },
    [loadPage, api, accountId, folder, q, page, pageSize],
  );

  useEffect(() => {
    loadList();
  }, [loadList]);

  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') {
        loadList({ silent: true });
        loadFolders();
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [loadList, loadFolders]);

  const refresh = () => {
    loadFolders();
    loadList();
    setThreadReload((n) => n + 1);
  };

  const onSeen = (id: MailListItem['id']) => {
    setRows((prev) => prev.map((r) => (String(r.id) === String(id) ? { ...r, seen: true } : r)));
    setFolders((prev) => prev.map((f) => (f.folder === folder && f.unread > 0 ? { ...f, unread: f.unread - 1 } : f)));
  };

  const showOutbox = folder === OUTBOX_KEY;
  const selectFolder = (f: string) => {
    setFolder(f);
    setPage(1);
    setOpened(null);
  };
  const currentFolder = folders.find((f) => f.folder === folder);
  const isSent = currentFolder ? folderKind(currentFolder) === 'sent' : false;

  if (accountsLoading) {
    return (
      <div ref={rootRef} style={{ height: 240, display: 'flex', alignItems: 'center', justifyContent: 'center' }}>
        <Spin />
      </div>
    );
  }
  if (accountsError) {
    return (
      <div ref={rootRef}>
        <Alert type="error" showIcon message={t('The mailboxes could not be loaded.')} description={accountsError} />
      </div>
    );
  }
  if (!accounts.length) {
    return (
      <div ref={rootRef} data-testid="inbox-block">
        <Empty
          image={<MailOutlined style={{ fontSize: 48, color: token.colorTextQuaternary }} />}
          imageStyle={{ height: 56 }}
          description={
            <span data-testid="inbox-no-accounts">
              {t('No mailbox is assigned to you yet. An administrator can assign mailboxes under Settings → E-Mail.')}
            </span>
          }
        />
      </div>
    );
  }

  const accountPicker = (
    <Select
      data-testid="inbox-account"
      value={accountId}
      onChange={(v) => setAccountId(v)}
      style={{ minWidth: compact ? 160 : 260, maxWidth: 360 }}
      popupMatchSelectWidth={false}
      options={accounts.map((a) => ({
        value: a.id,
        label: (
          <span style={{ display: 'inline-flex', alignItems: 'center', gap: 8, maxWidth: '100%' }}>
            <ProviderIcon provider={a.provider} size={20} />
            <span style={{ overflow: 'hidden', textOverflow: 'ellipsis' }}>
              {a.title && a.title !== a.address ? (
                <>
                  {a.title} <Typography.Text type="secondary">{a.address}</Typography.Text>
                </>
              ) : (
                a.address
              )}
            </span>
          </span>
        ),
      }))}
    />
  );

  const toolbar = (
    <div
      style={{
        display: 'flex',
        alignItems: 'center',
        gap: 8,
        padding: '10px 12px',
        borderBottom: `1px solid ${token.colorBorderSecondary}`,
        flexWrap: 'wrap',
      }}
    >
      {accountPicker}
      {compact && (
        <Select
          data-testid="inbox-folder-select"
          value={folder}
          onChange={selectFolder}
          style={{ minWidth: 120 }}
          options={folders
            .map((f) => ({ value: f.folder, label: `${folderLabel(f)}${f.unread ? ` (${f.unread})` : ''}` }))
            .concat({ value: OUTBOX_KEY, label: `${t('Outbox')}${outboxCounts?.count ? ` (${outboxCounts.count})` : ''}` })}
        />
      )}
      <Input.Search
        data-testid="inbox-search"
        allowClear
        placeholder={t('Search sender or subject')}
        disabled={showOutbox}
        value={search}
        onChange={(e) => {
          setSearch(e.target.value);
          if (!e.target.value) {
            setQ('');
            setPage(1);
          }
        }}
        onSearch={(v) => {
          setQ(v.trim());
          setPage(1);
        }}
        style={{ flex: 1, minWidth: 180, maxWidth: 420 }}
      />
      <span style={{ flex: 1 }} />
      <Tooltip title={t('Refresh')}>
        <Button icon={<ReloadOutlined />} onClick={refresh} aria-label={t('Refresh')} data-testid="inbox-refresh" />
      </Tooltip>
      <Button type="primary" icon={<EditOutlined />} onClick={() => setCompose(emptyCompose(accountId))} data-testid="inbox-compose">
        {t('New mail')}
      </Button>
    </div>
  );

  const list = (
    <div style={{ display: 'flex', flexDirection: 'column', minHeight: 0, height: '100%' }}>
      <div style={{ padding: '10px 16px 6px', display: 'flex', alignItems: 'baseline', gap: 8 }}>
        <Typography.Text strong>{currentFolder ? folderLabel(currentFolder) : ''}</Typography.Text>
        <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="mail-count">
          {q ? t('{{count}} found', { count: total }) : t('{{count}} mails', { count: total })}
        </Typography.Text>
      </div>
      {error && <Alert type="error" showIcon style={{ margin: '0 12px 8px' }} message={t('The mails could not be loaded.')} description={error} />}
      <div style={{ flex: 1, minHeight: 0 }}>
        <MessageList
          rows={rows}
          loading={loading}
          selectedId={opened?.id}
          showRecipients={isSent}
          page={page}
          pageSize={pageSize}
          total={total}
          emptyText={q ? t('No mail matches "{{q}}".', { q }) : t('No mails in this folder.')}
          onOpen={setOpened}
          onPage={(p) => {
            setPage(p);
            setOpened(null);
          }}
        />
      </div>
    </div>
  );

  const thread = opened ? (
    <ThreadView
      key={String(opened.id)}
      opened={opened}
      accounts={accounts}
      onCompose={setCompose}
      onLink={setLinkTarget}
      onSeen={onSeen}
      onBack={compact ? () => setOpened(null) : undefined}
      reloadKey={threadReload}
    />
  ) : (
    <div style={{ height: '100%', display: 'flex', alignItems: 'center', justifyContent: 'center', background: token.colorBgLayout }}>
      <Empty
        image={<MailOutlined style={{ fontSize: 44, color: token.colorTextQuaternary }} />}
        imageStyle={{ height: 52 }}
        description={t('Select a mail to read it.')}
      />
    </div>
  );

  return (
    <div
      ref={rootRef}
      data-testid="inbox-block"
      style={{
        display: 'flex',
        flexDirection: 'column',
        height,
        border: `1px solid ${token.colorBorderSecondary}`,
        borderRadius: token.borderRadiusLG,
        overflow: 'hidden',
        background: token.colorBgContainer,
      }}
    >
      {toolbar}
      <div style={{ flex: 1, minHeight: 0, display: 'flex' }}>
        {!compact && (
          <div
            style={{
              width: 200,
              flex: 'none',
              borderRight: `1px solid ${token.colorBorderSecondary}`,
              overflow: 'auto',
              paddingTop: 4,
              background: token.colorFillQuaternary,
            }}
          >
            <FolderList folders={folders} selected={folder} outbox={outboxCounts} onSelect={selectFolder} />
          </div>
        )}
        {showOutbox && accountId !== undefined ? (
          <div style={{ flex: 1, minWidth: 0, minHeight: 0 }}>
            <OutboxView accountId={accountId} reloadKey={threadReload} onChanged={loadFolders} />
          </div>
        ) : compact ? (
          <div style={{ flex: 1, minWidth: 0 }}>{opened ? thread : list}</div>
        ) : (
          <>
            <div style={{ width: width > 1250 ? 400 : 340, flex: 'none', borderRight: `1px solid ${token.colorBorderSecondary}`, minHeight: 0 }}>
              {list}
            </div>
            <div style={{ flex: 1, minWidth: 0, minHeight: 0 }}>{thread}</div>
          </>
        )}
      </div>
      <ComposeDrawer
        open={Boolean(compose)}
        initial={compose}
        accounts={accounts}
        onClose={() => {
          setCompose(null);
          loadFolders();
        }}
        onSent={() => {
          loadList({ silent: true });
          loadFolders();
          setThreadReload((n) => n + 1);
        }}
      />
      <LinkRecordModal open={Boolean(linkTarget)} message={linkTarget} onClose={() => setLinkTarget(null)} />
    </div>
  );
}

