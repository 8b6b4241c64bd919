import { createTestApp, TestApp } from '../support/nocobase';

const SECRET = 'S3cr3t-never-shown-9f2c';

describe('mail accounts: secrets stay on the server', () => {
  let t: TestApp;
  let token: string;
  let id: string;

  beforeAll(async () => {
    t = await createTestApp();
    token = await t.signIn();
  });

  afterAll(async () => {
    await t?.destroy();
  });

  it('creates an account and answers without the secret', async () => {
    const res = await t.agent(token).post('mailAccounts:create', {
      title: 'Support',
      provider: 'smtp-imap',
      address: 'support@example.test',
      settings: { smtp: { host: '127.0.0.1', port: 2525, security: 'none' }, imap: { host: '127.0.0.1', port: 1143, security: 'none' } },
      secrets: { password: SECRET },
      status: 'ok',
    });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(SECRET);
    expect(res.body.data).toMatchObject({ title: 'Support', status: 'new', secretsSet: { password: true } });
    expect(res.body.data.secrets).toBeUndefined();
    id = res.body.data.id;
  });

  it('stores the secret encrypted, not in clear', async () => {
    const [row] = await t.db.sequelize.query(`SELECT secrets FROM ${t.db.getCollection('mailAccounts').quotedTableName()}`, {
      type: 'SELECT',
    });
    expect(row.secrets).toBeTruthy();
    expect(row.secrets).not.toContain(SECRET);
    expect(await t.app.aesEncryptor.decrypt(row.secrets)).toContain(SECRET);
  });

  it('never returns the secret from list, get or update', async () => {
    const agent = t.agent(token);
    for (const res of [
      await agent.get('mailAccounts:list'),
      await agent.get('mailAccounts:get', { filterByTk: id }),
      await agent.post('mailAccounts:update', { title: 'Support desk' }, { filterByTk: id }),
    ]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(SECRET);
    }
  });

  it('keeps the stored secret when an update leaves it empty and clears it on null', async () => {
    const agent = t.agent(token);
    let res = await agent.post('mailAccounts:update', { secrets: { password: '' } }, { filterByTk: id });
    expect(res.body.data.secretsSet).toEqual({ password: true });
    res = await agent.post('mailAccounts:update', { secrets: { password: null } }, { filterByTk: id });
    expect(res.body.data.secretsSet).toEqual({});
  });

  it('gives concurrent first senders of an account one transport, and a new one after the account changed', async () => {
    const engine = (t.app.pm.get('@mailbridge/plugin-mail') as any).mail.engine;
    const Accounts = t.db.getRepository('mailAccounts');
    const model = await Accounts.findOne({ filterByTk: id });
    const transports = await Promise.all(Array.from({ length: 8 }, () => engine.transport(model)));
    expect(new Set(transports).size).toBe(1);
    await t.agent(token).post('mailAccounts:update', { title: 'Support (changed)' }, { filterByTk: id });
    const changed = await Accounts.findOne({ filterByTk: id });
    const [next, again] = await Promise.all([engine.transport(changed), engine.transport(changed)]);
    expect(next).toBe(again);
    expect(next).not.toBe(transports[0]);
    const closed: any = await transports[0].send({ from: { address: 'support@example.test' }, to: [{ address: 'x@example.test' }], subject: 'x' }).catch((e: any) => e);
    expect(closed.message).toBe('The mail transport is closed.');
  });

  it('rejects an unknown provider and a malformed address', async () => {
    const agent = t.agent(token);
    const bad = await agent.post('mailAccounts:create', { provider: 'pigeon', address: 'a@b.c' });
    expect(bad.status).toBe(400);
    const badAddress = await agent.post('mailAccounts:create', { provider: 'smtp', address: 'not an address' });
    expect(badAddress.status).toBe(400);
  });
});
