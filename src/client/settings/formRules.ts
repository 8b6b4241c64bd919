import type { FormRule as Rule } from 'antd';

type T = (key: string, options?: Record<string, unknown>) => string;

// The server accepts the same address shape (src/server/accounts/accountActions.ts).
const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$/i;
const HOST = /^[a-z0-9.-]+$|^\[?[0-9a-f:.]+\]?$/i;

export function isAddress(value: string): boolean {
  return ADDRESS.test(value.trim());
}

export const required = (t: T, label: string): Rule => ({
  required: true,
  whitespace: true,
  message: t('{{label}} is required.', { label }),
});

export const requiredChoice = (t: T, label: string): Rule => ({
  required: true,
  message: t('{{label}} is required.', { label }),
});

export const address = (t: T): Rule => ({
  validator: async (_, value) => {
    if (value && !isAddress(String(value)))
      throw new Error(t('Enter a valid e-mail address, such as name@example.com.'));
  },
});

export const addressList = (t: T): Rule => ({
  validator: async (_, value) => {
    const wrong = (Array.isArray(value) ? value : []).filter((v: string) => !isAddress(String(v)));
    if (wrong.length) throw new Error(t('Not an e-mail address: {{values}}', { values: wrong.join(', ') }));
  },
});

export const host = (t: T): Rule => ({
  validator: async (_, value) => {
    const v = String(value ?? '').trim();
    if (v && (!HOST.test(v) || v.includes('://')))
      throw new Error(t('Enter the server name only, such as mail.example.com.'));
  },
});

export const port = (t: T): Rule => ({
  validator: async (_, value) => {
    if (value === undefined || value === null || value === '')
      throw new Error(t('{{label}} is required.', { label: t('Port') }));
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new Error(t('The port must be a whole number from 1 to 65535.'));
  },
});

export const guid = (t: T): Rule => ({
  validator: async (_, value) => {
    const v = String(value ?? '').trim();
    if (v && !GUID.test(v)) throw new Error(t('Enter the ID as shown in Entra ID: 8-4-4-4-12 hexadecimal characters.'));
  },
});

export const tenant = (t: T, { allowCommon }: { allowCommon: boolean }): Rule => ({
  validator: async (_, value) => {
    const v = String(value ?? '').trim();
    if (!v || GUID.test(v) || DOMAIN.test(v)) return;
    if (allowCommon && ['organizations', 'common', 'consumers'].includes(v.toLowerCase())) return;
    throw new Error(t('Enter the directory (tenant) ID or the tenant domain, such as contoso.onmicrosoft.com.'));
  },
});

export const range = (t: T, min: number, max: number): Rule => ({
  validator: async (_, value) => {
    if (value === undefined || value === null || value === '') return;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(t('Enter a whole number from {{min}} to {{max}}.', { min, max }));
  },
});
