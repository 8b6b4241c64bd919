import { createTestApp, TestApp } from '../support/nocobase';

describe('the plugin in a booted NocoBase (SQLite in memory)', () => {
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    t = await createTestApp();
    token = await t.signIn();
  });

  afterAll(async () => {
    await t?.destroy();
  });

  it('is enabled and defines its collections', async () => {
    expect(t.app.pm.get('@mailbridge/plugin-mail')).toBeTruthy();
    for (const name of ['mailAccounts', 'mailMessages', 'mailThreads', 'mailAttachments', 'mailSyncState', 'mailOutbox']) {
      expect(t.db.getCollection(name)).toBeTruthy();
    }
    expect(await t.db.getRepository('mailAccounts').count()).toBe(0);
  });

  it('answers the accounts list for an admin with an empty page', async () => {
    const res = await t.agent(token).get('mailAccounts:list');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ data: [], meta: { count: 0 } });
  });

  it('refuses the accounts list to anonymous users', async () => {
    const res = await t.agent().get('mailAccounts:list');
    expect([401, 403]).toContain(res.status);
  });
});
