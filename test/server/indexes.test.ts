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
    ['mailOutbox', ['claimToken'], false],
  ])('%s has an index on %j, also after another db.sync()', async (name, fields, unique) => {
    // NocoBase syncs the whole database whenever a plugin is enabled; the indexes must survive that.
    await t.db.sync();
    const collection = t.db.getCollection(name);
    const indexes: any[] = (await t.db.sequelize.getQueryInterface().showIndex(collection.model.getTableName())) as any;
    const columns = (fields as string[]).map((f) => collection.model.getAttributes()[f].field);
    const match = indexes.find((i) => i.fields.map((f: any) => f.attribute).join(',') === columns.join(','));
    expect(match).toBeTruthy();
    if (unique) expect(match.unique).toBe(true);
  });
});

describe('JSON list fields of the mail collections', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('start out as empty lists without a column default', async () => {
    const thread = await t.db.getRepository('mailThreads').create({ values: { accountId: 1, subject: 'x' } });
    expect(thread.get('participants')).toEqual([]);
    const [message] = await t.db.getModel('mailMessages').bulkCreate([{ accountId: 1, folder: 'INBOX', providerId: 'p1' }]);
    expect(message.get('flags')).toEqual([]);
    expect(message.get('to')).toEqual([]);
  });
});
