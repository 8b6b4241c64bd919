import type { Application } from '@nocobase/server';
import { createSource, createTransport, testConnection, MailSource, MailTransport } from '@mailbridge/mail-core';
import { AccountSecrets, decryptSecrets } from './accountSecrets';
import { StoredAccount, toEngineConfig } from './engineConfig';

// The engine objects of an account. Transports are pooled, so one is kept per account and replaced when the
// account changes; sources are opened per sync and closed after it.
export class AccountEngine {
  private transports = new Map<string, { version: string; transport: MailTransport }>();

  constructor(private app: Application) {}

  async config(model: any) {
    return toEngineConfig(model.toJSON() as StoredAccount, await decryptSecrets(this.app, model.get('secrets')));
  }

  async transport(model: any): Promise<MailTransport> {
    const id = String(model.get('id'));
    const version = String(new Date(model.get('updatedAt')).getTime());
    const cached = this.transports.get(id);
    if (cached && cached.version === version) return cached.transport;
    if (cached) await cached.transport.close().catch(() => undefined);
    const transport = createTransport(await this.config(model));
    this.transports.set(id, { version, transport });
    return transport;
  }

  async source(model: any): Promise<MailSource> {
    return createSource(await this.config(model));
  }

  /** Tests a stored account, or unsaved form values with the stored secrets filled in. */
  testConfig(account: StoredAccount, secrets: AccountSecrets) {
    return testConnection(toEngineConfig(account, secrets));
  }

  async forget(accountId: string) {
    const cached = this.transports.get(accountId);
    this.transports.delete(accountId);
    await cached?.transport.close().catch(() => undefined);
  }

  async closeAll() {
    await Promise.all([...this.transports.keys()].map((id) => this.forget(id)));
  }
}
