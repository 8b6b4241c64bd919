import React from 'react';
import { Button, Form, Input, Space, Tooltip } from 'antd';
import { CopyOutlined } from '@ant-design/icons';
import { useMailTranslation } from '../locale';
import { useMessage } from './feedback';

export function redirectUri(): string {
  return `${window.location.origin}/api/mailOAuth:callback`;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // no clipboard API (plain http): the old way
    const area = document.createElement('textarea');
    area.value = text;
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

/** The redirect URI to register in Entra ID, read-only, with a copy button. */
export function RedirectUri({ value }: { value?: string }) {
  const { t } = useMailTranslation();
  const message = useMessage();
  // once connected, the server remembers the URI it used; before that it is this server's callback
  const uri = value || redirectUri();
  return (
    <Form.Item
      label={t('Redirect URI')}
      extra={t('Register it in Entra ID → App registrations → your app → Authentication → Web → Redirect URIs.')}
    >
      <Space.Compact style={{ width: '100%' }}>
        <Input readOnly value={uri} data-testid="redirect-uri" onFocus={(e) => e.target.select()} />
        <Tooltip title={t('Copy')}>
          <Button
            icon={<CopyOutlined />}
            aria-label={t('Copy')}
            onClick={async () => {
              if (await copyText(uri)) message.success(t('Copied to the clipboard.'));
              else message.error(t('Could not copy; select the text and copy it yourself.'));
            }}
          />
        </Tooltip>
      </Space.Compact>
    </Form.Item>
  );
}
