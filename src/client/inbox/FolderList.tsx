import React from 'react';
import { Badge, Menu, theme } from 'antd';
import {
  ContainerOutlined,
  DeleteOutlined,
  EditOutlined,
  FolderOutlined,
  InboxOutlined,
  SendOutlined,
  StopOutlined,
  UploadOutlined,
} from '@ant-design/icons';
import { useInboxTranslation as useMailTranslation } from '../inbox/i18n';
import type { MailFolder } from './types';

const ICONS: Record<string, React.ReactNode> = {
  inbox: <InboxOutlined />,
  sent: <SendOutlined />,
  drafts: <EditOutlined />,
  junk: <StopOutlined />,
  trash: <DeleteOutlined />,
  archive: <ContainerOutlined />,
};

/** The folder list's key for the outbox: no IMAP or Graph folder name holds U+0000. */
export const OUTBOX_KEY = '\u0000outbox';

/** What the outbox holds: mails not sent yet, and of those the failed ones. */
export interface OutboxCounts {
  count: number;
  failed: number;
}

export function folderKind(f: Pick<MailFolder, 'folder' | 'specialUse'>): string | null {
  if (f.specialUse) return f.specialUse.replace(/^\\/, '').toLowerCase();
  if (/^inbox$/i.test(f.folder)) return 'inbox';
  if (/^(sent|sent items|sent messages|gesendet|gesendete (elemente|objekte))$/i.test(f.folder)) return 'sent';
  return null;
}

export function useFolderLabel() {
  const { t } = useMailTranslation();
  const names: Record<string, string> = {
    inbox: t('Inbox'),
    sent: t('Sent'),
    drafts: t('Drafts'),
    junk: t('Junk'),
    trash: t('Trash'),
    archive: t('Archive'),
  };
  return (f: Pick<MailFolder, 'folder' | 'specialUse'>) => {
    const kind = folderKind(f);
    return (kind && names[kind]) || f.folder.split(/[/.]/).pop() || f.folder;
  };
}

/** The outbox's badge: failed mails in red (they wait for a person), else the mails still going out. */
function OutboxBadge({ counts }: { counts?: OutboxCounts }) {
  const { token } = theme.useToken();
  if (!counts?.count) return null;
  const failed = counts.failed > 0;
  return (
    <Badge
      count={failed ? counts.failed : counts.count}
      overflowCount={999}
      color={failed ? token.colorError : token.colorTextQuaternary}
      style={{ boxShadow: 'none' }}
      data-testid="outbox-badge"
    />
  );
}

export function FolderList({
  folders,
  selected,
  outbox,
  onSelect,
}: {
  folders: MailFolder[];
  /** a folder name, or OUTBOX_KEY */
  selected?: string;
  outbox?: OutboxCounts;
  onSelect(folder: string): void;
}) {
  const { token } = theme.useToken();
  const { t } = useMailTranslation();
  const label = useFolderLabel();
  return (
    <Menu
      data-testid="mail-folders"
      mode="inline"
      selectedKeys={selected ? [selected] : []}
      onClick={({ key }) => onSelect(String(key))}
      style={{ border: 0, background: 'transparent' }}
      items={folders.map((f) => ({
        key: f.folder,
        icon: ICONS[folderKind(f) ?? ''] ?? <FolderOutlined />,
        label: (
          <span style={{ display: 'flex', alignItems: 'center', gap: 8 }} data-testid={`folder-${f.folder}`}>
            <span style={{ flex: 1, overflow: 'hidden', textOverflow: 'ellipsis' }}>{label(f)}</span>
            {f.unread > 0 && (
              <Badge count={f.unread} overflowCount={999} color={token.colorPrimary} style={{ boxShadow: 'none' }} />
            )}
          </span>
        ),
      })).concat({
        key: OUTBOX_KEY,
        icon: <UploadOutlined />,
        label: (
          <span style={{ display: 'flex', alignItems: 'center', gap: 8 }} data-testid="folder-outbox">
            <span style={{ flex: 1 }}>{t('Outbox')}</span>
            <OutboxBadge counts={outbox} />
          </span>
        ),
      })}
    />
  );
}
