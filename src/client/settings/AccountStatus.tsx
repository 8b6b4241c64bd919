import React from 'react';
import { Badge, Typography } from 'antd';
import { useMailTranslation } from '../locale';
import { accountSyncs } from './providerCatalog';
import type { MailAccount } from './types';

type BadgeStatus = 'success' | 'error' | 'warning' | 'processing' | 'default';

const BADGE: Record<string, BadgeStatus> = {
  ok: 'success',
  error: 'error',
  'needs-reconnect': 'warning',
  new: 'default',
};

export function isSyncing(account: MailAccount, pending?: boolean): boolean {
  return Boolean(pending) || account.syncProgress?.state === 'syncing';
}

/** Status badge of one account; while it syncs, the folder and counts of the running sync. */
export function AccountStatus({ account, pending }: { account: MailAccount; pending?: boolean }) {
  const { t } = useMailTranslation();
  const progress = account.syncProgress;

  if (isSyncing(account, pending)) {
    const counts =
      progress && (progress.added !== undefined || progress.changed !== undefined || progress.deleted !== undefined)
        ? t('{{added}} new, {{changed}} changed, {{deleted}} deleted', {
            added: progress.added ?? 0,
            changed: progress.changed ?? 0,
            deleted: progress.deleted ?? 0,
          })
        : null;
    return (
      <div data-testid="account-status" data-status="syncing" style={{ whiteSpace: 'nowrap' }}>
        <Badge status="processing" text={t('status.syncing')} />
        {(progress?.folder || counts) && (
          <Typography.Text
            type="secondary"
            style={{ display: 'block', fontSize: 12, marginLeft: 14, whiteSpace: 'normal', maxWidth: 220 }}
          >
            {[progress?.folder, counts].filter(Boolean).join(' · ')}
          </Typography.Text>
        )}
      </div>
    );
  }

  if (account.enabled === false) {
    return (
      <span data-testid="account-status" data-status="disabled" style={{ whiteSpace: 'nowrap' }}>
        <Badge status="default" text={t('status.disabled')} />
      </span>
    );
  }

  const status = account.status ?? 'new';
  // Send-only accounts never sync, so "not synced yet" would be wrong for them.
  const text = status === 'new' && !accountSyncs(account) ? t('status.send-only') : t(`status.${status}`);
  return (
    <span data-testid="account-status" data-status={status} style={{ whiteSpace: 'nowrap' }}>
      <Badge status={BADGE[status] ?? 'default'} text={text} />
    </span>
  );
}
