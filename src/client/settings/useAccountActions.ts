import { useMemo } from 'react';
import { useAPIClient } from '@nocobase/client';
import { useMailTranslation } from '../locale';
import { authorizeMicrosoft, destroyAccount, errorText, httpStatus, syncAccountNow } from './api';
import { useMessage } from './feedback';
import type { AccountActions } from './AccountsTable';
import type { MailAccount } from './types';

type SetPending = (update: (prev: ReadonlySet<string>) => ReadonlySet<string>) => void;

/** What the buttons of the accounts list do; results and errors end up as messages. */
export function useAccountActions({
  refresh,
  setPendingSyncs,
  onEdit,
  onTest,
}: {
  refresh(options?: { silent?: boolean }): Promise<void>;
  setPendingSyncs: SetPending;
  onEdit(account: MailAccount): void;
  onTest(account: MailAccount): void;
}): AccountActions & { announceConnected(title: string): void } {
  const { t } = useMailTranslation();
  const api = useAPIClient();
  const message = useMessage();

  return useMemo(() => {
    const pending = (id: string, on: boolean) =>
      setPendingSyncs((prev) => {
        const next = new Set(prev);
        if (on) next.add(id);
        else next.delete(id);
        return next;
      });

    return {
      onEdit,
      onTest,
      async onSyncNow(account: MailAccount) {
        const id = String(account.id);
        pending(id, true);
        // The list shows the progress while the request runs (it polls while a sync is pending).
        setTimeout(() => refresh({ silent: true }), 800);
        try {
          const result = await syncAccountNow(api, account.id);
          const totals = (result.folders ?? []).reduce(
            (sum, f) => ({
              added: sum.added + f.added,
              changed: sum.changed + f.changed,
              deleted: sum.deleted + f.deleted,
            }),
            { added: 0, changed: 0, deleted: 0 },
          );
          if (result.skipped === 'busy')
            message.info(t('A sync of "{{title}}" is already running.', { title: account.title }));
          else if (result.skipped === 'disabled')
            message.warning(t('"{{title}}" is inactive; activate it to sync.', { title: account.title }));
          else if (result.skipped === 'send-only')
            message.info(t('"{{title}}" only sends mail; there is nothing to sync.', { title: account.title }));
          else if (result.running)
            message.info(t('"{{title}}" is still syncing; the list shows the progress.', { title: account.title }));
          else if (result.ok)
            message.success(
              t('"{{title}}" is up to date: {{added}} new, {{changed}} changed, {{deleted}} deleted.', {
                title: account.title,
                ...totals,
              }),
            );
          else
            message.error({
              content: [result.error?.message ?? t('The sync failed.'), result.error?.hint].filter(Boolean).join(' — '),
              duration: 8,
            });
        } catch (e) {
          message.error(errorText(e));
        } finally {
          pending(id, false);
          await refresh({ silent: true });
        }
      },
      async onDelete(account: MailAccount) {
        try {
          await destroyAccount(api, account.id);
          message.success(t('Account "{{title}}" deleted.', { title: account.title }));
        } catch (e) {
          message.error(errorText(e));
        }
        await refresh({ silent: true });
      },
      async onConnect(account: MailAccount) {
        try {
          window.location.href = await authorizeMicrosoft(api, account.id);
        } catch (e) {
          if (httpStatus(e) === 404)
            message.error(t('This server cannot connect Microsoft accounts yet (mailOAuth:authorize is missing).'));
          else message.error(errorText(e));
        }
      },
      announceConnected(title: string) {
        message.success(t('"{{title}}" is now connected with Microsoft.', { title }));
      },
    };
  }, [api, message, onEdit, onTest, refresh, setPendingSyncs, t]);
}
