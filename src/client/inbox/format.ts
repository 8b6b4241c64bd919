import type { MailAddress } from './types';

export function formatAddress(a: MailAddress | null | undefined): string {
  if (!a?.address) return '';
  return a.name && a.name !== a.address ? `${a.name} <${a.address}>` : a.address;
}

export function displayName(a: MailAddress | null | undefined): string {
  return (a?.name || a?.address || '').trim();
}

export function addressList(list: MailAddress[] | null | undefined): string {
  return (list ?? []).map(displayName).filter(Boolean).join(', ');
}

/** "10:42" today, "23 Nov" this year, "23.11.2025" (per locale) before. */
export function shortDate(value: string | null | undefined, language: string, now = new Date()): string {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  const sameDay = date.toDateString() === now.toDateString();
  if (sameDay) return date.toLocaleTimeString(language, { hour: '2-digit', minute: '2-digit' });
  if (date.getFullYear() === now.getFullYear()) return date.toLocaleDateString(language, { day: 'numeric', month: 'short' });
  return date.toLocaleDateString(language, { year: 'numeric', month: '2-digit', day: '2-digit' });
}

export function longDate(value: string | null | undefined, language: string): string {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(language, { dateStyle: 'medium', timeStyle: 'short' } as Intl.DateTimeFormatOptions);
}

export function fileSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const AVATAR_COLORS = ['#1677ff', '#13a8a8', '#722ed1', '#eb2f96', '#fa8c16', '#52c41a', '#2f54eb', '#faad14'];

export function avatarColor(key: string): string {
  let h = 0;
  for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return AVATAR_COLORS[h % AVATAR_COLORS.length];
}

export function initials(a: MailAddress | null | undefined): string {
  // words of letters and digits: "Rechnungen (SMTP only)" is "RS", not "R("
  const words = (a?.name || a?.address || '').split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  return ((words[0]?.[0] ?? '?') + (words.length > 1 ? words[1][0] : '')).toUpperCase();
}

const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+$/;

/** "Bob <bob@x.y>" or "bob@x.y" → the bare address, or null */
export function parseAddressInput(input: string): string | null {
  const m = /<([^<>]+)>\s*$/.exec(input);
  const address = (m ? m[1] : input).trim();
  return ADDRESS.test(address) ? address : null;
}
