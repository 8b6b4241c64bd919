import React, { useMemo, useState } from 'react';
import { Alert, Button, theme } from 'antd';
import { PictureOutlined } from '@ant-design/icons';
import { useInboxTranslation as useMailTranslation } from '../inbox/i18n';
import { sanitizeMailHtml } from './sanitizeMailHtml';

// The sandbox may open links in a new tab (target=_blank, set by the sanitizer) and nothing else: no scripts, no
// same-origin access, no forms, no top navigation.
export const MAIL_FRAME_SANDBOX = 'allow-popups allow-popups-to-escape-sandbox';

/** A mail's body: sanitized HTML in a sandboxed iframe with remote images blocked until asked for, or plain text. */
export function MailBody({ html, text, messageId }: { html?: string | null; text?: string | null; messageId: string | number }) {
  const { t } = useMailTranslation();
  const { token } = theme.useToken();
  const [allowRemote, setAllowRemote] = useState(false);
  const sanitized = useMemo(() => (html ? sanitizeMailHtml(html, { allowRemote }) : null), [html, allowRemote]);

  if (!sanitized) {
    return (
      <div
        data-testid="mail-body-text"
        style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere', fontSize: 14, lineHeight: 1.6, color: token.colorText }}
      >
        {text?.trim() ? text : <span style={{ color: token.colorTextTertiary }}>{t('This mail has no text.')}</span>}
      </div>
    );
  }
  return (
    <div>
      {sanitized.blockedRemote > 0 && (
        <Alert
          data-testid="remote-images-blocked"
          type="info"
          showIcon
          icon={<PictureOutlined />}
          style={{ marginBottom: 12, padding: '6px 12px' }}
          message={t('Remote images are blocked to protect your privacy.')}
          action={
            <Button size="small" type="link" data-testid="show-images" onClick={() => setAllowRemote(true)}>
              {t('Show images')}
            </Button>
          }
        />
      )}
      <iframe
        key={`${messageId}-${allowRemote ? 'remote' : 'blocked'}`}
        data-testid="mail-body-frame"
        data-remote={allowRemote ? 'allowed' : 'blocked'}
        title={t('Mail content')}
        sandbox={MAIL_FRAME_SANDBOX}
        referrerPolicy="no-referrer"
        srcDoc={sanitized.document}
        style={{
          display: 'block',
          width: '100%',
          height: sanitized.estimatedHeight,
          border: 0,
          background: '#fff',
          colorScheme: 'light',
        }}
      />
    </div>
  );
}
