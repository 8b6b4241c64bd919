import React from 'react';
import { AmazonOutlined, MailOutlined, SendOutlined } from '@ant-design/icons';
import type { ProviderKey } from './types';

function MicrosoftMark({ size }: { size: number }) {
  const cell = size * 0.45;
  const gap = size * 0.1;
  return (
    <svg width={size} height={size} viewBox={`0 0 ${size} ${size}`} aria-hidden focusable="false">
      <rect x={0} y={0} width={cell} height={cell} fill="#F25022" />
      <rect x={cell + gap} y={0} width={cell} height={cell} fill="#7FBA00" />
      <rect x={0} y={cell + gap} width={cell} height={cell} fill="#00A4EF" />
      <rect x={cell + gap} y={cell + gap} width={cell} height={cell} fill="#FFB900" />
    </svg>
  );
}

function SendGridMark({ size }: { size: number }) {
  const u = size / 3;
  return (
    <svg width={size} height={size} viewBox={`0 0 ${size} ${size}`} aria-hidden focusable="false">
      <rect x={0} y={u} width={u * 2} height={u * 2} fill="#99E1F4" />
      <rect x={u} y={0} width={u * 2} height={u * 2} fill="#1A82E2" opacity={0.85} />
      <rect x={u} y={u} width={u} height={u} fill="#00B3E3" />
    </svg>
  );
}

const LOOK: Record<ProviderKey, { background: string; color: string }> = {
  'ms365-delegated': { background: '#F3F6FB', color: '#0078D4' },
  'ms365-app': { background: '#F3F6FB', color: '#0078D4' },
  'smtp-imap': { background: '#E6F4FF', color: '#1677FF' },
  smtp: { background: '#E6FFFB', color: '#08979C' },
  ses: { background: '#FFF7E6', color: '#D46B08' },
  sendgrid: { background: '#E9F6FD', color: '#1A82E2' },
};

/** A provider's mark on a soft tile, as in the provider picker and the accounts list. */
export function ProviderIcon({ provider, size = 40 }: { provider: ProviderKey | string; size?: number }) {
  const look = LOOK[provider as ProviderKey] ?? { background: '#F5F5F5', color: '#595959' };
  const glyph = Math.round(size * 0.5);
  let mark: React.ReactNode;
  if (provider === 'ms365-delegated' || provider === 'ms365-app') mark = <MicrosoftMark size={glyph} />;
  else if (provider === 'sendgrid') mark = <SendGridMark size={glyph} />;
  else if (provider === 'ses') mark = <AmazonOutlined style={{ fontSize: glyph }} />;
  else if (provider === 'smtp') mark = <SendOutlined style={{ fontSize: glyph }} />;
  else mark = <MailOutlined style={{ fontSize: glyph }} />;
  return (
    <span
      data-provider-icon={provider}
      style={{
        display: 'inline-flex',
        alignItems: 'center',
        justifyContent: 'center',
        flex: 'none',
        width: size,
        height: size,
        borderRadius: Math.round(size / 5),
        background: look.background,
        color: look.color,
      }}
    >
      {mark}
    </span>
  );
}
