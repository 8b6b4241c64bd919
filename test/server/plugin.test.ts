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

  it('is enabled and defines the mailAccounts collection', async () => {
    expect(t.app.pm.get('@mailbridge/plugin-mail')).toBeTruthy();
    expect(t.db.getCollection('mailAccounts')).toBeTruthy();
    expect(await t.db.getRepository('mailAccounts').count()).toBe(0);
  });

  it('lists mail accounts for an admin, without secrets', async () => {
    await t.db.getRepository('mailAccounts').create({
      values: { title: 'Support', provider: 'smtp', address: 'support@example.test', secrets: 'encrypted-blob' },
    });
    const res = await t.agent(token).get('mailAccounts:list');
    expect(res.status).toBe(200);
    expect(res.body.meta.count).toBe(1);
    expect(res.body.data[0]).toMatchObject({ title: 'Support', address: 'support@example.test', secretsSet: true });
    expect(res.text).not.toContain('encrypted-blob');
  });

  it('refuses the accounts list to anonymous users', async () => {
    const res = await t.agent().get('mailAccounts:list');
    expect([401, 403]).toContain(res.status);
  });
});
