import type { APIClient } from '@nocobase/client';
import type {
  LinkedThread,
  MailFolder,
  MailListItem,
  MailMessage,
  OutboxEntry,
  OutboxPage,
  Page,
  SendValues,
  UsableAccount,
} from './types';

export { errorText, httpStatus } from '../settings/api';

// Every call shows its own errors in the block, so the host's global error notification stays quiet.
const quiet = { skipNotify: true } as const;

export async function listUsableAccounts(api: APIClient): Promise<UsableAccount[]> {
  const res = await api.request<UsableAccount[]>({ url: 'mailAccounts:listUsable', method: 'get', ...quiet });
  return res.data.data ?? [];
}

export async function listFolders(api: APIClient, accountId: UsableAccount['id']): Promise<MailFolder[]> {
  const res = await api.request<MailFolder[]>({ url: 'mailMessages:folders', method: 'get', params: { accountId }, ...quiet });
  return res.data.data ?? [];
}

export interface MessageQuery {
  accountId?: UsableAccount['id'];
  folder?: string;
  threadId?: MailListItem['threadId'];
  q?: string;
  page?: number;
  pageSize?: number;
}

export async function listMessages(api: APIClient, query: MessageQuery): Promise<Page<MailListItem>> {
  const params = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const res = await api.request<MailListItem[]>({ url: 'mailMessages:list', method: 'get', params, ...quiet });
  const meta = res.data.meta;
  const rows = res.data.data ?? [];
  return { rows, count: meta?.count ?? rows.length, page: meta?.page ?? 1, pageSize: meta?.pageSize ?? rows.length };
}

export async function getMessage(api: APIClient, id: MailListItem['id']): Promise<MailMessage> {
  const res = await api.request<MailMessage>({ url: 'mailMessages:get', method: 'get', params: { filterByTk: id }, ...quiet });
  return res.data.data;
}

/** Marks a message read (stored, and written back to the mailbox where the account allows); the list shows it read either way. */
export async function markSeen(api: APIClient, id: MailListItem['id']): Promise<void> {
  await api
    .request({ url: 'mailMessages:markSeen', method: 'post', params: { filterByTk: id }, data: { seen: true }, ...quiet })
    .catch(() => undefined);
}

export async function sendMail(api: APIClient, values: SendValues): Promise<OutboxEntry> {
  const res = await api.request<OutboxEntry>({ url: 'mailMessages:send', method: 'post', data: values, ...quiet });
  return res.data.data;
}

/** The account's mails that are not sent yet (queued, sending, failed), newest first. */
export async function listOutbox(api: APIClient, accountId: UsableAccount['id'], page = 1, pageSize = 50): Promise<OutboxPage> {
  const res = await api.request<OutboxEntry[]>({ url: 'mailOutbox:list', method: 'get', params: { accountId, page, pageSize }, ...quiet });
  const meta = res.data.meta;
  const rows = res.data.data ?? [];
  return {
    rows,
    count: meta?.count ?? rows.length,
    failed: (meta as { failed?: number } | undefined)?.failed ?? rows.filter((r) => r.state === 'failed').length,
    page: meta?.page ?? page,
    pageSize: meta?.pageSize ?? pageSize,
  };
}

/** Sends a failed mail again (same Message-ID) and answers with its new state. */
export async function retryOutbox(api: APIClient, id: OutboxEntry['id']): Promise<OutboxEntry> {
  const res = await api.request<OutboxEntry>({ url: 'mailOutbox:retry', method: 'post', params: { filterByTk: id }, ...quiet });
  return res.data.data;
}

export async function discardOutbox(api: APIClient, id: OutboxEntry['id']): Promise<void> {
  await api.request({ url: 'mailOutbox:discard', method: 'post', params: { filterByTk: id }, ...quiet });
}

/** Where the browser downloads an attachment (streamed by the server with Content-Disposition: attachment). */
export function attachmentUrl(api: APIClient, id: number | string): string {
  const anyApi = api as any;
  const base: string = String(anyApi?.axios?.defaults?.baseURL ?? (window as any).__nocobase_api_base_url__ ?? '/api/');
  return `${base.replace(/\/?$/, '/')}mailAttachments:download?filterByTk=${encodeURIComponent(String(id))}`;
}

/**
 * Downloads an attachment with the signed-in user's token (a plain link would not carry it when the session
 * lives in localStorage) and hands it to the browser as a file.
 */
export async function downloadAttachment(api: APIClient, id: number | string, filename: string): Promise<void> {
  const res: any = await api.request({
    url: `mailAttachments:download`,
    method: 'get',
    params: { filterByTk: id },
    responseType: 'blob',
    ...quiet,
  } as any);
  const blob: Blob = res.data instanceof Blob ? res.data : new Blob([res.data]);
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = filename;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 30000);
}

export async function listLinkedThreads(
  api: APIClient,
  record: { collection: string; recordId: string | number },
  page = 1,
  pageSize = 20,
): Promise<Page<LinkedThread>> {
  const res = await api.request<LinkedThread[]>({
    url: 'mailLinks:list',
    method: 'get',
    params: { collection: record.collection, recordId: record.recordId, page, pageSize },
    ...quiet,
  });
  const meta = res.data.meta;
  const rows = res.data.data ?? [];
  return { rows, count: meta?.count ?? rows.length, page: meta?.page ?? page, pageSize: meta?.pageSize ?? pageSize };
}

export async function linkToRecord(
  api: APIClient,
  values: { collection: string; recordId: string; mailMessageId?: MailListItem['id']; threadId?: MailListItem['threadId'] },
): Promise<void> {
  await api.request({ url: 'mailLinks:create', method: 'post', data: values, ...quiet });
}

export async function unlinkFromRecord(api: APIClient, linkId: number | string): Promise<void> {
  await api.request({ url: 'mailLinks:destroy', method: 'post', params: { filterByTk: linkId }, ...quiet });
}

export interface CollectionOption {
  name: string;
  title?: string;
}

/** The collections a link can point at (for the "Link to record" picker); empty if the role may not list them. */
export async function listCollections(api: APIClient): Promise<CollectionOption[]> {
  try {
    const res = await api.request<CollectionOption[]>({
      url: 'collections:list',
      method: 'get',
      params: { paginate: false, fields: ['name', 'title', 'hidden'] },
      ...quiet,
    });
    return (res.data.data ?? []).filter((c: any) => !c.hidden && !String(c.name).startsWith('mail'));
  } catch {
    return [];
  }
}
