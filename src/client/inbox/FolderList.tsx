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

export function FolderList({
  folders,
  selected,
  onSelect,
}: {
  folders: MailFolder[];
  selected?: string;
  onSelect(folder: string): void;
}) {
  const { token } = theme.useToken();
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
      }))}
    />
  );
}
