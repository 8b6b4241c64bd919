import { ImapFlow } from 'imapflow';
import {
  makeMessage,
  startDovecot,
  startMicrosoftFake,
  startSmtpSink,
  Dovecot,
  MicrosoftFake,
  SmtpSink,
} from '@mailbridge/mail-testkit';
import { createTestApp, TestApp } from '../support/nocobase';

const CARLA = 'carla@contoso.test';
const BOB = { user: 'bob@contoso.test', password: 'bob-pw-51f0' };
const IMAP_SCOPE = 'https://outlook.office.com/IMAP.AccessAsUser.All';
const SMTP_SCOPE = 'https://outlook.office.com/SMTP.Send';
const CLIENT_SECRET = 'imap-app-secret-789';

// SMTP/IMAP signing in with Microsoft: the tokens come from the (fake) Entra ID through our connect routes, dovecot
// and the SMTP sink accept them only after asking the fake's introspection endpoint — no password anywhere.
describe('SMTP/IMAP with Microsoft OAuth (XOAUTH2) against dovecot, the SMTP sink and the fake Entra ID', () => {
  let t: TestApp;
  let fake: MicrosoftFake;
  let dovecot: Dovecot;
  let sink: SmtpSink;
  let admin: string;
  let clientId: string;
  let accountId: string;
  let miaId: number;

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    fake = await startMicrosoftFake({ introspectionHttp: true });
    fake.addUser({ upn: CARLA, displayName: 'Carla Diaz', password: 'carla-entra-pw' });
    // Carla's mailbox password is one nobody here knows: only her tokens get in.
    const users = [{ user: CARLA, password: 'carla-unknown-dovecot-pw-0d3' }, BOB];
    dovecot = await startDovecot({ users, oauth2: { introspectionUrl: fake.introspectionUrl } });
    sink = await startSmtpSink({ dovecot, users, oauth2: { introspectionUrl: fake.introspectionUrl } });
    t = await createTestApp({ plugins: ['notification-manager', 'notification-in-app-message'] });
    admin = await t.signIn();
    clientId = fake.addApp({
      displayName: 'Mailbridge IMAP',
      secrets: [CLIENT_SECRET],
      redirectUris: [`${t.url}/api/mailOAuth:callback`],
    }).clientId;
    // Below MSAL's renewal margin (5 min): every new login refreshes, so rotation and revocation show at once.
    fake.setAccessTokenLifetime(120);
    const mia = await t.db.getRepository('users').create({
      values: { nickname: 'Mia', email: 'mia@example.test', password: 'mia-pw-1234', roles: ['member'] },
    });
    miaId = Number(mia.get('id'));
  });

  afterAll(async () => {
    await t?.destroy();
    await sink?.close();
    await dovecot?.destroy();
    await fake?.close();
  });

  const account = () => t.db.getRepository('mailAccounts').findOne({ filterByTk: accountId });
  const storedCache = async () => {
    const secrets = JSON.parse(await t.app.aesEncryptor.decrypt((await account()).get('secrets')));
    return JSON.parse(secrets.tokenCache);
  };
  const refreshTokens = async () => Object.values((await storedCache()).RefreshToken).map((rt: any) => rt.secret);
  const connect = async () => {
    const res = await t.agent(admin).post('mailOAuth:authorize', {}, { filterByTk: accountId });
    expect(res.status).toBe(200);
    const scopes = new URL(res.body.data.url).searchParams.get('scope')!.split(' ');
    expect(scopes).toEqual(expect.arrayContaining([IMAP_SCOPE, SMTP_SCOPE, 'offline_access']));
    const callback = fake.authorizeAs(CARLA, res.body.data.url).redirectUrl;
    const back = await fetch(callback, { redirect: 'manual' });
    expect(back.status).toBe(302);
    return new URL(back.headers.get('location')!, t.url);
  };
  const syncNow = async () => (await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: accountId })).body.data;
  const inAppMessages = (userId: number) =>
    t.db.getRepository('notificationInAppMessages').find({ filter: { userId }, sort: ['receiveTimestamp'] });

  it('creates the account with "Microsoft (OAuth)" and connects it through our routes', async () => {
    const created = await t.agent(admin).post('mailAccounts:create', {
      title: 'Carla (Outlook)',
      provider: 'smtp-imap',
      address: CARLA,
      userIds: [miaId],
      settings: {
        authMethod: 'microsoft-oauth',
        tenantId: fake.tenantId,
        clientId,
        endpoints: { authorityHost: fake.authorityHost, ca: fake.caPem },
        smtp: { host: sink.host, port: sink.port, security: 'none' },
        imap: { host: dovecot.host, port: dovecot.imapPort, security: 'none' },
        sync: { intervalSeconds: 3600 },
      },
      secrets: { clientSecret: CLIENT_SECRET },
    });
    expect(created.status).toBe(200);
    accountId = created.body.data.id;

    const back = await connect();
    expect(back.searchParams.get('connected')).toBe(String(accountId));
    const a = await account();
    expect(a.get('status')).toBe('ok');
    expect(a.get('settings').connectedAs).toBe(CARLA);
    expect(a.get('settings').grantedScopes).toEqual(expect.arrayContaining([IMAP_SCOPE, SMTP_SCOPE]));
    expect(a.get('settings').missingScopes).toEqual([]);
    expect(a.get('secrets')).not.toMatch(/RefreshToken|imap-app-secret/);
    expect(await refreshTokens()).toHaveLength(1);
    const api = await t.agent(admin).get('mailAccounts:get', { filterByTk: accountId });
    expect(api.text).not.toMatch(/RefreshToken|"tokenCache":"|imap-app-secret/);
    expect(api.body.data.secretsSet).toMatchObject({ clientSecret: true, tokenCache: true });
  });

  it('syncs the INBOX over IMAP with XOAUTH2 and stores the rotated refresh token', async () => {
    const before = await refreshTokens();
    for (let i = 0; i < 3; i++) {
      await dovecot.deliver(CARLA, makeMessage(i, { to: CARLA, subject: `Outlook ${i}`, messageId: `outlook-${i}@contoso.test` }));
    }
    const outcome = await syncNow();
    expect(outcome.ok).toBe(true);
    expect(await t.db.getModel('mailMessages').count({ where: { accountId, folder: 'INBOX' } })).toBe(3);
    const after = await refreshTokens();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    expect(fake.tokenRequests.filter((r) => r.grantType === 'refresh_token' && r.ok).length).toBeGreaterThan(0);

    // dovecot checks every token: one the fake never issued does not get in
    const stranger = new ImapFlow({ host: dovecot.host, port: dovecot.imapPort, secure: false, auth: { user: CARLA, accessToken: 'not-a-token' }, logger: false });
    stranger.on('error', () => undefined);
    await expect(stranger.connect()).rejects.toThrow();
  });

  it('sends over SMTP with XOAUTH2; the recipient reads the mail back over IMAP', async () => {
    const sent = await t.agent(admin).post('mailMessages:send', {
      accountId,
      to: [BOB.user],
      subject: 'Angebot per Outlook',
      text: 'Hallo Bob',
    });
    expect(sent.body.data.state).toBe('sent');
    const received = sink.received.find((m) => m.raw.toString('utf8').includes('Angebot per Outlook'));
    expect(received?.authUser).toBe(CARLA);

    const client = new ImapFlow({ host: dovecot.host, port: dovecot.imapPort, secure: false, auth: { user: BOB.user, pass: BOB.password }, logger: false });
    await client.connect();
    try {
      await client.mailboxOpen('INBOX');
      const found = await client.search({ subject: 'Angebot per Outlook' });
      expect(found).toHaveLength(1);
      const message = await client.fetchOne(String((found as number[])[0]), { envelope: true });
      expect(message && message.envelope?.from?.[0]?.address).toBe(CARLA);
    } finally {
      await client.logout();
    }
  });

  it('turns a revoked sign-in into "needs reconnect" and tells the account\'s users once', async () => {
    fake.revokeRefreshTokens(CARLA);
    // A new IMAP login (after a restart, a settings change or a dropped connection) needs a new token.
    const plugin: any = t.app.pm.get('@mailbridge/plugin-mail');
    await plugin.mail.engine.forget(String(accountId));

    const first = await syncNow();
    expect(first.ok).toBe(false);
    const a = await account();
    expect(a.get('status')).toBe('needs-reconnect');
    expect(a.get('lastError')).toMatch(/reconnect/i);
    expect(a.get('lastError')).not.toMatch(/refresh\.|imap-app-secret/);

    const second = await syncNow();
    expect(second.ok).toBe(false);
    const send = await t.agent(admin).post('mailMessages:send', { accountId, to: [BOB.user], subject: 'Kommt nicht an', text: 'x' });
    expect(send.body.data.state).not.toBe('sent');

    const forMia = await inAppMessages(miaId);
    expect(forMia).toHaveLength(1);
    expect(forMia[0].get('title')).toContain('Carla (Outlook)');
    expect(forMia[0].get('content')).toContain(CARLA);
    expect(await inAppMessages(1)).toHaveLength(1);
  });

  it('works again after "Connect with Microsoft", and a later revocation is told again', async () => {
    expect((await connect()).searchParams.get('connected')).toBe(String(accountId));
    expect((await account()).get('status')).toBe('ok');
    expect((await syncNow()).ok).toBe(true);

    fake.revokeRefreshTokens(CARLA);
    const plugin: any = t.app.pm.get('@mailbridge/plugin-mail');
    await plugin.mail.engine.forget(String(accountId));
    expect((await syncNow()).ok).toBe(false);
    expect(await inAppMessages(miaId)).toHaveLength(2);
  });

  describe('with access tokens valid for an hour (MSAL reuses them for new logins)', () => {
    const plugin = () => t.app.pm.get('@mailbridge/plugin-mail') as any;
    beforeAll(async () => {
      fake.setAccessTokenLifetime(3599);
      expect((await connect()).searchParams.get('connected')).toBe(String(accountId));
      expect((await syncNow()).ok).toBe(true);
    });
    afterAll(() => fake.setAccessTokenLifetime(120));

    it('renews a token the IMAP server no longer takes at once, and the sync goes on', async () => {
      const refreshesBefore = fake.tokenRequests.filter((r) => r.grantType === 'refresh_token').length;
      expect(fake.revokeAccessTokens(CARLA)).toBeGreaterThan(0);
      await plugin().mail.engine.forget(String(accountId));
      const outcome = await syncNow();
      expect(outcome).toMatchObject({ ok: true });
      expect((await account()).get('status')).toBe('ok');
      expect(fake.tokenRequests.filter((r) => r.grantType === 'refresh_token').length).toBeGreaterThan(refreshesBefore);
    });

    it('a sign-in revoked with its tokens is "needs reconnect" at the first sync, not an authentication error', async () => {
      fake.revokeAccessTokens(CARLA);
      fake.revokeRefreshTokens(CARLA);
      await plugin().mail.engine.forget(String(accountId));
      expect((await syncNow()).ok).toBe(false);
      const a = await account();
      expect(a.get('status')).toBe('needs-reconnect');
      expect(a.get('lastError')).toMatch(/reconnect/i);
    });
  });
});
