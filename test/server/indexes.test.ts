import { createTestApp, TestApp } from '../support/nocobase';

// The lookups that threading, the sync and the inbox make must be indexed on every dialect.
describe('database indexes of the mail collections', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it.each([
    ['mailMessages', ['accountId', 'folder', 'providerId'], true],
    ['mailMessages', ['messageId'], false],
    ['mailMessages', ['threadId'], false],
    ['mailMessages', ['accountId', 'messageId'], false],
    ['mailMessages', ['accountId', 'folder', 'date', 'id'], false],
    ['mailMessages', ['date', 'id'], false],
    ['mailOutbox', ['jobId'], false],
    ['mailThreads', ['providerThreadId'], false],
    ['mailOutbox', ['state', 'createdAt'], false],
    ['mailSyncState', ['accountId', 'folder'], true],
  ])('%s has an index on %j', async (name, fields, unique) => {
    const collection = t.db.getCollection(name);
    const indexes: any[] = (await t.db.sequelize.getQueryInterface().showIndex(collection.model.getTableName())) as any;
    const columns = (fields as string[]).map((f) => collection.model.getAttributes()[f].field);
    const match = indexes.find((i) => i.fields.map((f: any) => f.attribute).join(',') === columns.join(','));
    expect(match).toBeTruthy();
    if (unique) expect(match.unique).toBe(true);
  });
});
