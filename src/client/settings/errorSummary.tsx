import React, { useCallback } from 'react';
import { Typography } from 'antd';
import { useMailTranslation } from '../locale';

// The server's error texts name hosts, folders and the provider's own answer, in English. By the MailError code
// each failure also gets a line in the user's language: what went wrong and what to do.
const SUMMARIES: Record<string, { title: string; advice: string }> = {
  AUTH_FAILED: { title: 'Sign-in refused', advice: 'Check the user name and the password (or sign in again).' },
  TLS_MISMATCH: {
    title: 'Encryption does not match',
    advice: 'Check the security setting (SSL/TLS, STARTTLS) and the port.',
  },
  HOST_UNREACHABLE: {
    title: 'Server not reachable',
    advice: 'Check the host name and the port, and that the server can be reached from here.',
  },
  CONNECTION_LOST: {
    title: 'Connection dropped',
    advice: "The server closed the connection. Try again; if it keeps happening, check the server's connection limits.",
  },
  TIMEOUT: {
    title: 'No answer in time',
    advice:
      'The server did not answer in time. Try again; if it keeps happening, check the host, the port and the firewall.',
  },
  MAILBOX_MISSING: {
    title: 'Folder or mailbox not found',
    advice: 'Check the folder names and that the mailbox exists.',
  },
  QUOTA_EXCEEDED: { title: 'Mailbox full', advice: 'Free space in the mailbox or raise its quota.' },
  INVALID_HEADER: { title: 'Invalid mail header', advice: 'Remove line breaks from the subject, names and addresses.' },
  RECIPIENT_REJECTED: { title: 'Recipient refused', advice: 'Check the recipient addresses.' },
  RATE_LIMITED: { title: 'Too many requests', advice: 'The provider slows down requests. It is tried again later.' },
  INTERRUPTED: { title: 'Sending interrupted', advice: 'Check the Sent folder before sending it again.' },
  PROVIDER_ERROR: { title: 'The provider reported an error', advice: 'See the details below.' },
};

export interface ErrorSummary {
  title: string;
  advice: string;
  /** PROVIDER_ERROR: says less than the provider's own words, so a one-line view shows those instead */
  generic: boolean;
}

/** The failure of a MailError code in the user's language, or null for no or an unknown code. */
export function useErrorSummary() {
  const { t } = useMailTranslation();
  return useCallback(
    (code?: string | null): ErrorSummary | null => {
      const summary = code ? SUMMARIES[code] : undefined;
      return summary ? { title: t(summary.title), advice: t(summary.advice), generic: code === 'PROVIDER_ERROR' } : null;
    },
    [t],
  );
}

/**
 * A failure as the settings page shows it: the summary in the user's language (when the code is known), then the
 * server's own words and its hint.
 */
export function MailErrorLines({ error }: { error: { code?: string; message: string; hint?: string } }) {
  const summary = useErrorSummary()(error.code);
  return (
    <>
      {summary && (
        <Typography.Text type="danger" strong style={{ display: 'block' }} data-testid="error-summary">
          {summary.title} — {summary.advice}
        </Typography.Text>
      )}
      <Typography.Text type={summary ? 'secondary' : 'danger'} style={{ display: 'block' }}>
        {error.message}
      </Typography.Text>
      {error.hint && (
        <Typography.Text type="secondary" style={{ display: 'block' }}>
          {error.hint}
        </Typography.Text>
      )}
    </>
  );
}
