import type { APIClient } from '@nocobase/client';
import type { AccountValues, MailAccount, SyncResult, TestResult } from './types';

// Every call here shows its own errors, so the host's global error notification is switched off.
const quiet = { skipNotify: true } as const;

export async function listAccounts(api: APIClient): Promise<MailAccount[]> {
  const res = await api.request<MailAccount[]>({
    url: 'mailAccounts:list',
    method: 'get',
    params: { pageSize: 200 },
    ...quiet,
  });
  return res.data.data ?? [];
}

export async function createAccount(api: APIClient, values: AccountValues): Promise<MailAccount> {
  const res = await api.request<MailAccount>({ url: 'mailAccounts:create', method: 'post', data: values, ...quiet });
  return res.data.data;
}

export async function updateAccount(
  api: APIClient,
  id: MailAccount['id'],
  values: AccountValues,
): Promise<MailAccount> {
  const res = await api.request<MailAccount>({
    url: 'mailAccounts:update',
    method: 'post',
    params: { filterByTk: id },
    data: values,
    ...quiet,
  });
  return res.data.data;
}

export async function destroyAccount(api: APIClient, id: MailAccount['id']): Promise<void> {
  await api.request({ url: 'mailAccounts:destroy', method: 'post', params: { filterByTk: id }, ...quiet });
}

/** Tests the stored account (id only), or unsaved form values on top of it. */
export async function testAccount(api: APIClient, id?: MailAccount['id'], values?: AccountValues): Promise<TestResult> {
  const res = await api.request<TestResult>({
    url: 'mailAccounts:test',
    method: 'post',
    params: id === undefined ? {} : { filterByTk: id },
    data: values ?? {},
    ...quiet,
  });
  return res.data.data;
}

export async function syncAccountNow(api: APIClient, id: MailAccount['id']): Promise<SyncResult> {
  const res = await api.request<SyncResult>({
    url: 'mailAccounts:syncNow',
    method: 'post',
    params: { filterByTk: id },
    ...quiet,
  });
  return res.data.data;
}

export async function authorizeMicrosoft(api: APIClient, id: MailAccount['id']): Promise<string> {
  const res = await api.request<{ url: string }>({
    url: 'mailOAuth:authorize',
    method: 'post',
    params: { accountId: id },
    ...quiet,
  });
  return res.data.data.url;
}

/** Admin consent for the app in Entra ID (delegated accounts). */
export async function adminConsentUrl(api: APIClient, id: MailAccount['id']): Promise<string> {
  const res = await api.request<{ url: string }>({
    url: 'mailOAuth:adminConsent',
    method: 'post',
    params: { accountId: id },
    ...quiet,
  });
  return res.data.data.url;
}

export interface PasswordConnectResult {
  ok: boolean;
  connectedAs?: string;
  grantedScopes?: string[];
  error?: { code?: string; message: string; hint?: string };
}

/** The opt-in ROPC fallback: the password goes to Entra ID once and is not stored. */
export async function connectWithPassword(
  api: APIClient,
  id: MailAccount['id'],
  values: { username: string; password: string },
): Promise<PasswordConnectResult> {
  const res = await api.request<PasswordConnectResult>({
    url: 'mailOAuth:connectWithPassword',
    method: 'post',
    params: { filterByTk: id },
    data: values,
    ...quiet,
  });
  return res.data.data;
}

export async function getAccount(api: APIClient, id: MailAccount['id']): Promise<MailAccount> {
  const res = await api.request<MailAccount>({
    url: 'mailAccounts:get',
    method: 'get',
    params: { filterByTk: id },
    ...quiet,
  });
  return res.data.data;
}

export interface UserOption {
  id: number | string;
  nickname?: string;
  username?: string;
  email?: string;
}

export async function listUsers(api: APIClient, search: string, ids?: Array<number | string>): Promise<UserOption[]> {
  const filter = ids
    ? { id: { $in: ids } }
    : search
      ? {
          $or: [
            { nickname: { $includes: search } },
            { email: { $includes: search } },
            { username: { $includes: search } },
          ],
        }
      : undefined;
  const res = await api.request<UserOption[]>({
    url: 'users:list',
    method: 'get',
    params: {
      pageSize: 50,
      fields: ['id', 'nickname', 'username', 'email'],
      sort: ['nickname'],
      ...(filter ? { filter } : {}),
    },
    ...quiet,
  });
  return res.data.data ?? [];
}

export interface RoleOption {
  name: string;
  title?: string;
}

export async function listRoles(api: APIClient): Promise<RoleOption[]> {
  const res = await api.request<RoleOption[]>({
    url: 'roles:list',
    method: 'get',
    params: { paginate: false },
    ...quiet,
  });
  return res.data.data ?? [];
}

export function httpStatus(error: unknown): number | undefined {
  return (error as any)?.response?.status;
}

/** The message NocoBase puts in an error response, or the transport's own. */
export function errorText(error: unknown): string {
  const e = error as any;
  const fromBody = e?.response?.data?.errors?.[0]?.message ?? e?.response?.data?.message;
  return String(fromBody ?? e?.message ?? error);
}
