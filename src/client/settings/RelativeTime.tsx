import React, { useEffect, useState } from 'react';
import { Tooltip } from 'antd';
import { useMailTranslation } from '../locale';

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

export function relativeTime(date: Date, now: number, language: string, justNow: string): string {
  const seconds = Math.round((date.getTime() - now) / 1000);
  if (Math.abs(seconds) < 45) return justNow;
  const format = new Intl.RelativeTimeFormat(language, { numeric: 'auto' });
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size * 0.9) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(Math.round(seconds / 60), 'minute');
}

/** "5 minutes ago", with the exact time in a tooltip; re-renders every 30 s. */
export function RelativeTime({ value }: { value: string | Date }) {
  const { t, i18n } = useMailTranslation();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30000);
    return () => clearInterval(timer);
  }, []);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return null;
  const language = i18n.language || 'en-US';
  return (
    <Tooltip title={date.toLocaleString(language)}>
      <time dateTime={date.toISOString()}>{relativeTime(date, now, language, t('just now'))}</time>
    </Tooltip>
  );
}
