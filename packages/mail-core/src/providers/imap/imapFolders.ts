import type { ImapFlow, ListResponse } from 'imapflow';
import { MailError } from '../../errors';
import type { AppendTarget, FolderInfo, SpecialUse } from '../../types';

const SPECIAL_USE: Record<string, SpecialUse> = {
  '\\Inbox': 'inbox',
  '\\Sent': 'sent',
  '\\Drafts': 'drafts',
  '\\Trash': 'trash',
  '\\Junk': 'junk',
  '\\Archive': 'archive',
};

export function specialUseOf(entry: Pick<ListResponse, 'specialUse' | 'path'>): SpecialUse | undefined {
  if (entry.path.toUpperCase() === 'INBOX') return 'inbox';
  if (entry.specialUse) return SPECIAL_USE[entry.specialUse];
  for (const flag of (entry as Partial<ListResponse>).flags ?? []) if (SPECIAL_USE[flag]) return SPECIAL_USE[flag];
  return undefined;
}

function isSelectable(entry: ListResponse): boolean {
  return !entry.flags.has('\\Noselect') && !entry.flags.has('\\NonExistent');
}

export function toFolderInfo(entry: ListResponse): FolderInfo {
  const info: FolderInfo = { path: entry.path, name: entry.name, delimiter: entry.delimiter ?? '/' };
  const specialUse = specialUseOf(entry);
  if (specialUse) info.specialUse = specialUse;
  return info;
}

/** Every selectable folder, special-use folders marked (SPECIAL-USE, else well-known names). */
export async function listFolders(client: ImapFlow): Promise<FolderInfo[]> {
  const entries = await client.list();
  return entries.filter(isSelectable).map(toFolderInfo);
}

/** The path of a special-use folder, or the given path. MAILBOX_MISSING when there is none. */
export async function resolveFolder(client: ImapFlow, target: AppendTarget): Promise<string> {
  if (typeof target === 'object') return target.path;
  if (target === 'inbox') return 'INBOX';
  const folder = (await listFolders(client)).find((f) => f.specialUse === target);
  if (!folder) {
    throw new MailError('MAILBOX_MISSING', `The mailbox has no "${target}" folder.`, {
      hint: `Create a folder for ${target} mail on the server, or choose one in the account settings.`,
    });
  }
  return folder.path;
}
