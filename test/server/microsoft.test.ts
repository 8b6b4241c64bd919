import { startMicrosoftFake, MicrosoftFake } from '@mailbridge/mail-testkit';
import { createTestApp, TestApp } from '../support/nocobase';

const CARLA = 'carla@contoso.test';
const OFFICE = 'office@contoso.test';

describe('Microsoft 365 accounts through our routes, against the fake Entra ID + Graph', () => {
  let t: TestApp;
  let fake: MicrosoftFake;
  let admin: string;
  let delegatedClientId: string;
  let appClientId: string;
  let delegatedId: string;
  const endpoints = () => ({ authorityHost: fake.authorityHost, graphBaseUrl: fake.graphBaseUrl, ca: fake.caPem });

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    fake = await startMicrosoftFake();
    fake.addUser({ upn: CARLA, displayName: 'Carla Diaz', password: 'carla-pw-x' });
    fake.addUser({ upn: OFFICE, displayName: 'Office' });
    t = await createTestApp();
    admin = await t.signIn();
    delegatedClientId = fake.addApp({
      displayName: 'Mailbridge delegated',
      secrets: ['delegated-secret-123'],
      redirectUris: [`${t.url}/api/mailOAuth:callback`],
    }).clientId;
    fake.grantScopes(delegatedClientId, ['User.Read', 'Mail.Read', 'Mail.Send'], 'delegated');
    appClientId = fake.addApp({ displayName: 'Mailbridge app-only', secrets: ['app-secret-456'] }).clientId;
    fake.grantScopes(appClientId, ['Mail.Send', 'Mail.ReadWrite', 'User.Read.All'], 'application');
  });

  afterAll(async () => {
    await t?.destroy();
    await fake?.close();
  });

  const account = () => t.db.getRepository('mailAccounts').findOne({ filterByTk: delegatedId });
  const connect = async () => {
    const res = await t.agent(admin).post('mailOAuth:authorize', {}, { filterByTk: delegatedId });
    expect(res.status).toBe(200);
    expect(res.body.data.redirectUri).toBe(`${t.url}/api/mailOAuth:callback`);
    return fake.authorizeAs(CARLA, res.body.data.url).redirectUrl;
  };
  const followCallback = async (url: string) => {
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!, t.url);
  };

  it('connects a delegated account: authorize -> sign-in -> callback -> token cache stored encrypted', async () => {
    const created = await t.agent(admin).post('mailAccounts:create', {
      title: 'Carla',
      provider: 'ms365-delegated',
      address: CARLA,
      settings: { tenantId: fake.tenantId, clientId: delegatedClientId, scopePreset: 'read-send', endpoints: endpoints() },
      secrets: { clientSecret: 'delegated-secret-123' },
    });
    expect(created.status).toBe(200);
    delegatedId = created.body.data.id;

    const back = await followCallback(await connect());
    expect(back.pathname).toBe('/admin/settings/mail');
    expect(back.searchParams.get('connected')).toBe(String(delegatedId));
    const a = await account();
    expect(a.get('status')).toBe('ok');
    expect(a.get('settings').connectedAs).toBe(CARLA);
    expect(a.get('settings').grantedScopes).toEqual(expect.arrayContaining(['Mail.Read', 'Mail.Send']));
    expect(a.get('settings').missingScopes).toEqual([]);

    const raw = a.get('secrets');
    expect(raw).not.toMatch(/RefreshToken|delegated-secret-123/);
    const decrypted = JSON.parse(await t.app.aesEncryptor.decrypt(raw));
    expect(JSON.parse(decrypted.tokenCache).RefreshToken).toBeTruthy();
    const api = await t.agent(admin).get('mailAccounts:get', { filterByTk: delegatedId });
    expect(api.text).not.toMatch(/RefreshToken|"tokenCache":"|delegated-secret-123/);
    expect(api.body.data.secretsSet).toMatchObject({ clientSecret: true, tokenCache: true });
  });

  it('keeps what the server learned when connecting, whatever settings a client sends', async () => {
    const res = await t.agent(admin).post(
      'mailAccounts:update',
      { settings: { tenantId: fake.tenantId, clientId: delegatedClientId, endpoints: endpoints(), grantedScopes: ['Everything'] } },
      { filterByTk: delegatedId },
    );
    expect(res.body.data.settings.grantedScopes).toEqual(expect.arrayContaining(['Mail.Read', 'Mail.Send']));
    expect(res.body.data.settings.grantedScopes).not.toContain('Everything');
    expect(res.body.data.settings.homeAccountId).toBeTruthy();
    const uri = await t.agent(admin).get('mailOAuth:redirectUri');
    expect(uri.body.data.redirectUri).toBe(`${t.url}/api/mailOAuth:callback`);
  });

  it('rejects a replayed callback and a forged state', async () => {
    const callback = await connect();
    expect((await followCallback(callback)).searchParams.get('connected')).toBe(String(delegatedId));
    const replay = await followCallback(callback);
    expect(replay.searchParams.get('oauthError')).toMatch(/invalid, expired or was already used/);
    const forged = new URL(callback);
    forged.searchParams.set('state', 'forged-state');
    expect((await followCallback(forged.toString())).searchParams.get('oauthError')).toMatch(/invalid/);
  });

  it('syncs the inbox and sends as the signed-in user', async () => {
    fake.addMessages(CARLA, 'inbox', 5);
    const sync = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: delegatedId });
    expect(sync.body.data.ok).toBe(true);
    expect(await t.db.getModel('mailMessages').count({ where: { accountId: delegatedId } })).toBe(5);
    const sent = await t.agent(admin).post('mailMessages:send', { accountId: delegatedId, to: ['office@contoso.test'], subject: 'Hallo', text: 'x' });
    expect(sent.body.data.state).toBe('sent');
    expect(fake.sent.find((s: any) => s.internetMessageId === sent.body.data.messageId)).toBeTruthy();

    // read in the app: Graph refuses the write without Mail.ReadWrite, the user is told, the app keeps it read
    const unread = await t.db.getModel('mailMessages').findOne({ where: { accountId: delegatedId, seen: false } });
    const mark = await t.agent(admin).post('mailMessages:markSeen', { seen: true }, { filterByTk: unread.get('id') });
    expect(mark.body.data).toMatchObject({ seen: true, writtenBack: false });
    expect(mark.body.data.error).toMatch(/Mail\.ReadWrite/);
    expect(fake.messagesIn(CARLA, 'inbox').find((m) => m.immutableId === unread.get('providerId'))?.isRead).toBe(false);
  });

  it('stores a mail that holds U+0000 (PostgreSQL text cannot), without the character, and syncs on past it', async () => {
    const stored = () => t.db.getModel('mailMessages').count({ where: { accountId: delegatedId } });
    const before = await stored();
    fake.addMessages(CARLA, 'inbox', [
      { subject: 'Nul\u0000 im Betreff', from: { name: 'Null\u0000 Sender', address: 'nul@example.test' }, html: '<p>a\u0000b</p>' },
      { subject: 'Nul im Text', text: 'vor\u0000nach' },
    ]);
    fake.addMessages(CARLA, 'inbox', 1);
    const sync = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: delegatedId });
    expect(sync.body.data).toMatchObject({ ok: true });
    const row = (subject: string) => t.db.getModel('mailMessages').findOne({ where: { accountId: delegatedId, subject } });
    const html = await row('Nul im Betreff');
    expect([html?.get('html'), html?.get('from')?.name, (await row('Nul im Text'))?.get('text')]).toEqual(['<p>ab</p>', 'Null Sender', 'vornach']);
    expect(await stored()).toBe(before + 3);
  });

  it('turns a revoked sign-in into "needs reconnect" with a readable error', async () => {
    fake.setAccessTokenLifetime(1);
    await followCallback(await connect());
    fake.revokeRefreshTokens(CARLA);
    const sync = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: delegatedId });
    expect(sync.body.data.ok).toBe(false);
    const a = await account();
    expect(a.get('status')).toBe('needs-reconnect');
    expect(a.get('lastError')).toMatch(/Reconnect/i);
    fake.setAccessTokenLifetime(3599);
  });

  it('runs an app-only account: test connection, sync and send from a shared mailbox', async () => {
    fake.addMessages(OFFICE, 'inbox', 3);
    const created = await t.agent(admin).post('mailAccounts:create', {
      title: 'Office',
      provider: 'ms365-app',
      address: OFFICE,
      settings: { tenantId: fake.tenantId, clientId: appClientId, mailbox: OFFICE, scopePreset: 'read-send', endpoints: endpoints() },
      secrets: { clientSecret: 'app-secret-456' },
    });
    const id = created.body.data.id;
    const test = await t.agent(admin).post('mailAccounts:test', {}, { filterByTk: id });
    expect(test.body.data.ok).toBe(true);
    expect(test.text).not.toContain('app-secret-456');
    const sync = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: id });
    expect(sync.body.data.ok).toBe(true);
    // The three seeded mails and Carla's mail from the delegated test.
    expect(await t.db.getModel('mailMessages').count({ where: { accountId: id } })).toBe(fake.messagesIn(OFFICE, 'inbox').length);
    expect(fake.messagesIn(OFFICE, 'inbox').length).toBe(4);
    const sent = await t.agent(admin).post('mailMessages:send', { accountId: id, to: [CARLA], subject: 'Von der Zentrale', text: 'x' });
    expect(sent.body.data.state).toBe('sent');

    // read in the app, read in Outlook: app-only has Mail.ReadWrite
    const unread = await t.db.getModel('mailMessages').findOne({ where: { accountId: id, seen: false } });
    const mark = await t.agent(admin).post('mailMessages:markSeen', { seen: true }, { filterByTk: unread.get('id') });
    expect(mark.body.data).toMatchObject({ seen: true, writtenBack: true });
    expect(fake.messagesIn(OFFICE, 'inbox').find((m) => m.immutableId === unread.get('providerId'))?.isRead).toBe(true);

    const wrong = await t.agent(admin).post('mailAccounts:test', { secrets: { clientSecret: 'nope' } }, { filterByTk: id });
    expect(wrong.body.data.ok).toBe(false);
    expect(JSON.stringify(wrong.body)).toMatch(/AUTH_FAILED/);
  });
});
