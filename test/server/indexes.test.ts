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

describe('upgrading a SQLite database made before the JSON defaults were dropped', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('keeps the rows and every index when db.sync() removes the old DEFAULT \'[]\'', async () => {
    if (!t.db.inDialect('sqlite')) return expect(t.db.inDialect('postgres')).toBe(true); // PostgreSQL alters in place
    const query = async (sql: string) => (await t.db.sequelize.query(sql, { raw: true }))[0] as any[];
    // the table as the previous release created it: DEFAULT '[]' on the JSON lists
    const [{ sql: current }] = await query(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'mailMessages'`);
    const indexSql = (await query(`SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'mailMessages' AND sql IS NOT NULL`)).map((r) => r.sql);
    const old = current.replace('`to` JSON', "`to` JSON DEFAULT '[]'").replace('`flags` JSON', "`flags` JSON DEFAULT '[]'");
    expect(old).not.toBe(current);
    await query('DROP TABLE `mailMessages`');
    await query(old);
    for (const sql of indexSql) await query(sql);
    const Messages = t.db.getModel('mailMessages');
    // the same provider id in two folders: what a rebuild that reads the composite index column by column refuses
    await Messages.bulkCreate([
      { accountId: 1, folder: 'INBOX', providerId: '1', to: [], flags: [] },
      { accountId: 1, folder: 'Sent', providerId: '1', to: [], flags: [] },
    ]);

    await t.db.sync();

    const [{ sql: after }] = await query(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'mailMessages'`);
    expect(after).not.toContain("DEFAULT '[]'");
    expect(await Messages.count()).toBe(2);
    const names = (await query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'mailMessages'`)).map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['mail_messages_account_id_folder_provider_id', 'mail_messages_thread_id']));
    await expect(Messages.create({ accountId: 1, folder: 'INBOX', providerId: '1' })).rejects.toThrow();
  });
});
