import type { Application } from '@nocobase/server';
import type { GraphTokenCacheStore } from '@mailbridge/mail-core';
import { decryptSecrets, encryptSecrets } from '../accounts/accountSecrets';

// The MSAL token cache of a delegated account, kept encrypted with the account's other secrets. Saved on every
// change, so a rotated refresh token is never lost. Saving is silent (no updatedAt bump): the account's
// configuration did not change, so its pooled transport stays.
export function accountTokenCache(app: Application, accountId: string): GraphTokenCacheStore {
  const model = () => app.db.getModel('mailAccounts');
  return {
    async load() {
      const row: any = await model().findByPk(accountId, { attributes: ['secrets'] });
      return (await decryptSecrets(app, row?.get('secrets'))).tokenCache ?? null;
    },
    async save(serialized: string) {
      const row: any = await model().findByPk(accountId, { attributes: ['id', 'secrets'] });
      if (!row) return;
      const secrets = { ...(await decryptSecrets(app, row.get('secrets'))), tokenCache: serialized };
      await model().update(
        { secrets: await encryptSecrets(app, secrets) },
        { where: { id: accountId }, hooks: false, silent: true },
      );
    },
  };
}
