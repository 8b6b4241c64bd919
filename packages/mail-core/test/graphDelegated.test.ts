/**
 * Delegated Microsoft 365 (authorization code + PKCE, refresh tokens, opt-in ROPC) against the
 * fake Entra ID + Graph over real HTTPS. The token cache only ever goes to the store we give.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startMicrosoftFake, type MicrosoftFake } from '../../mail-testkit/src/fakes/microsoft';
import {
  adminConsentUrl,
  createGraphSource,
  createGraphTransport,
  DelegatedAuth,
  needsReconnect,
  RECONNECT_HINT,
  testGraphConnection,
  type GraphTokenCacheStore,
  type Ms365DelegatedConfig,
} from '../src/providers/graph';
import { MailError } from '../src/errors';

const CARLA = 'carla@contoso.test';
const PASSWORD = 'Carla-pw-2024!';
const REDIRECT = 'https://nocobase.example.test/api/mailAccounts:oauthCallback';

let fake: MicrosoftFake;
let publicApp: string;
let webApp: string;

/** The encrypted per-account store of the NocoBase half, in memory. */
class MemoryStore implements GraphTokenCacheStore {
  value: string | null = null;
  saves: string[] = [];
  loads = 0;
  async load(): Promise<string | null> {
    this.loads++;
    return this.value;
  }
  async save(serialized: string): Promise<void> {
    this.saves.push(serialized);
    this.value = serialized;
  }
}

function config(overrides: Partial<Ms365DelegatedConfig> = {}): Ms365DelegatedConfig {
  return {
    provider: 'ms365-delegated',
    address: CARLA,
    tenantId: fake.tenantId,
    clientId: publicApp,
    redirectUri: REDIRECT,
    scopes: ['User.Read', 'Mail.ReadWrite', 'Mail.Send'],
    endpoints: { authorityHost: fake.authorityHost, graphBaseUrl: fake.graphBaseUrl, ca: fake.caPem },
    ...overrides,
  };
}

const refreshTokensIn = (serialized: string): string[] =>
  Object.values((JSON.parse(serialized) as { RefreshToken?: Record<string, { secret: string }> }).RefreshToken ?? {}).map((t) => t.secret);

async function mailError(p: Promise<unknown>): Promise<MailError & { needsReconnect?: boolean }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(MailError);
    return err as MailError;
  }
  throw new Error('expected a MailError');
}

/** Browser part of the flow: the user signs in on the authorize URL; we get the callback URL. */
async function signIn(auth: DelegatedAuth, user = CARLA) {
  const request = await auth.buildAuthorizeUrl({ state: 'state-123', loginHint: user });
  const callback = new URL(fake.authorizeAs(user, request.url).redirectUrl);
  return { request, code: callback.searchParams.get('code') as string, state: callback.searchParams.get('state'), callback };
}

beforeAll(async () => {
  fake = await startMicrosoftFake();
  fake.addUser({ upn: CARLA, displayName: 'Carla Diaz', password: PASSWORD });
  fake.addUser({ upn: 'dave@contoso.test', password: 'dave-pw' });
  publicApp = fake.addApp({ displayName: 'Mailbridge (public)', redirectUris: [REDIRECT], allowPublicClient: true }).clientId;
  webApp = fake.addApp({ displayName: 'Mailbridge (web)', secrets: ['web-secret'], redirectUris: [REDIRECT] }).clientId;
});
afterAll(() => fake?.close());

describe('authorization code + PKCE', () => {
  test('end to end: authorize URL → sign-in → redeem → send and sync as the user', async () => {
    const store = new MemoryStore();
    const auth = new DelegatedAuth(config(), { tokenCache: store });
    const { request, code, state } = await signIn(auth);
    const url = new URL(request.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${fake.authorityHost}/${fake.tenantId}/oauth2/v2.0/authorize`);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toBe(request.challenge);
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['User.Read', 'Mail.Send', 'offline_access', 'openid']));
    expect(url.searchParams.get('login_hint')).toBe(CARLA);
    expect(state).toBe('state-123');

    const account = await auth.redeemAuthorizationCode({ code, verifier: request.verifier as string, nonce: request.nonce });
    expect(account.homeAccountId).toBe(`${fake.user(CARLA).id}.${fake.tenantId}`);
    expect(account.username).toBe(CARLA);
    expect(account.tenantId).toBe(fake.tenantId);
    expect(account.grantedScopes).toEqual(expect.arrayContaining(['User.Read', 'Mail.ReadWrite', 'Mail.Send']));
    expect(store.saves.length).toBeGreaterThan(0);
    expect(refreshTokensIn(store.value as string)).toHaveLength(1);

    const cfg = config({ homeAccountId: account.homeAccountId });
    const transport = createGraphTransport(cfg, { tokenCache: store });
    await transport.verify();
    const sent = await transport.send({ from: { address: CARLA }, to: [{ address: 'dave@contoso.test' }], subject: 'delegated', text: 'hi', inReplyTo: '<x@y.test>' });
    expect(fake.sent.find((s) => s.internetMessageId === sent.messageId)).toMatchObject({ mailbox: CARLA, via: 'mime', inReplyTo: '<x@y.test>' });
    expect(fake.requestsTo(/^\/v1\.0\/me\/sendMail$/).length).toBe(1);

    fake.addMessages(CARLA, 'inbox', 3);
    const source = createGraphSource(cfg, { tokenCache: store });
    const added = [];
    for await (const b of source.syncFolder('inbox', null)) added.push(...b.added);
    expect(added).toHaveLength(3);
    const result = await testGraphConnection(cfg, { tokenCache: store });
    expect(result.ok).toBe(true);
  });

  test('a confidential (web) app registration: the client secret goes along', async () => {
    const store = new MemoryStore();
    const auth = new DelegatedAuth(config({ clientId: webApp, clientSecret: 'web-secret' }), { tokenCache: store });
    const { request, code } = await signIn(auth);
    const account = await auth.redeemAuthorizationCode({ code, verifier: request.verifier as string, nonce: request.nonce });
    expect(account.username).toBe(CARLA);
    const withoutSecret = new DelegatedAuth(config({ clientId: webApp }), { tokenCache: new MemoryStore() });
    const second = await signIn(withoutSecret);
    const err = await mailError(withoutSecret.redeemAuthorizationCode({ code: second.code, verifier: second.request.verifier as string, nonce: second.request.nonce }));
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.message).toMatch(/AADSTS7000218/);
  });

  test('a wrong verifier is rejected (PKCE), and nothing is stored', async () => {
    const store = new MemoryStore();
    const auth = new DelegatedAuth(config(), { tokenCache: store });
    const { request, code } = await signIn(auth);
    const other = await auth.buildAuthorizeUrl({ state: 'other' });
    const err = await mailError(auth.redeemAuthorizationCode({ code, verifier: other.verifier as string, nonce: request.nonce }));
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.needsReconnect).toBe(true);
    expect(err.message).toMatch(/AADSTS501481/);
    expect(fake.tokenRequests[fake.tokenRequests.length - 1]).toMatchObject({ grantType: 'authorization_code', ok: false, error: 'invalid_grant', aadsts: 501481 });
    expect(store.saves).toHaveLength(0);
  });

  test('a code is good once: replaying it is rejected', async () => {
    const auth = new DelegatedAuth(config(), { tokenCache: new MemoryStore() });
    const { request, code } = await signIn(auth);
    await auth.redeemAuthorizationCode({ code, verifier: request.verifier as string, nonce: request.nonce });
    const replay = new DelegatedAuth(config(), { tokenCache: new MemoryStore() });
    const err = await mailError(replay.redeemAuthorizationCode({ code, verifier: request.verifier as string, nonce: request.nonce }));
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.message).toMatch(/AADSTS54005/);
    expect(err.hint).toMatch(/Sign in again/);
  });

  test('the user declines consent: the callback carries consent_required, not a code', async () => {
    const app = fake.addApp({ redirectUris: [REDIRECT], allowPublicClient: true });
    const auth = new DelegatedAuth(config({ clientId: app.clientId }), { tokenCache: new MemoryStore() });
    const { url } = await auth.buildAuthorizeUrl({ state: 's' });
    const result = fake.authorizeAs(CARLA, url, { consent: false });
    expect(result.error).toBe('consent_required');
    expect(new URL(result.redirectUrl).searchParams.get('error_description')).toMatch(/^AADSTS65001/);
    expect(new URL(result.redirectUrl).searchParams.get('code')).toBeNull();
  });

  test('a scope the user never got (Mail.Send missing): sending fails with the consent hint', async () => {
    const store = new MemoryStore();
    const cfg = config({ scopes: ['User.Read', 'Mail.Read'] });
    const auth = new DelegatedAuth(cfg, { tokenCache: store });
    const { request, code } = await signIn(auth, 'dave@contoso.test');
    const account = await auth.redeemAuthorizationCode({ code, verifier: request.verifier as string, nonce: request.nonce });
    const transport = createGraphTransport({ ...cfg, address: 'dave@contoso.test', homeAccountId: account.homeAccountId }, { tokenCache: store });
    const err = await mailError(transport.send({ from: { address: 'dave@contoso.test' }, to: [{ address: CARLA }], subject: 'x', text: 'x' }));
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.hint).toMatch(/^Grant admin consent for Mail\.Send in Entra ID/);
  });
});

test('delegated send from a shared mailbox: /users/{shared}/sendMail with Mail.Send.Shared and Send As rights', async () => {
  fake.addUser({ upn: 'support@contoso.test', shared: true });
  fake.grantSendAs('support@contoso.test', CARLA);
  const store = new MemoryStore();
  const cfg = config({ scopes: ['User.Read', 'Mail.ReadWrite', 'Mail.Send', 'Mail.Send.Shared'], sharedMailboxes: ['support@contoso.test'] });
  const auth = new DelegatedAuth(cfg, { tokenCache: store });
  const { request, code } = await signIn(auth);
  const account = await auth.redeemAuthorizationCode({ code, verifier: request.verifier as string, nonce: request.nonce });
  const transport = createGraphTransport({ ...cfg, homeAccountId: account.homeAccountId }, { tokenProvider: auth });
  const result = await transport.send({ from: { name: 'Support', address: 'support@contoso.test' }, to: [{ address: 'dave@contoso.test' }], subject: 'from support', text: 'x' });
  expect(fake.sent.find((s) => s.internetMessageId === result.messageId)).toMatchObject({ mailbox: 'support@contoso.test', from: 'support@contoso.test' });
  expect(fake.messagesIn('support@contoso.test', 'sentitems').map((m) => m.internetMessageId)).toContain(result.messageId);
  // without the Send As right Exchange refuses, and the hint says what to grant
  fake.addUser({ upn: 'sales@contoso.test', shared: true });
  const denied = await mailError(
    createGraphTransport({ ...cfg, sharedMailboxes: ['sales@contoso.test'], homeAccountId: account.homeAccountId }, { tokenProvider: auth }).send({
      from: { address: 'sales@contoso.test' },
      to: [{ address: 'dave@contoso.test' }],
      subject: 'x',
      text: 'x',
    }),
  );
  expect(denied.code).toBe('AUTH_FAILED');
  expect(denied.hint).toMatch(/"Send As" permission/);
});

describe('refresh tokens', () => {
  let store: MemoryStore;
  let cfg: Ms365DelegatedConfig;

  beforeAll(async () => {
    // below MSAL's 5-minute renewal margin: every token request refreshes
    fake.setAccessTokenLifetime(60);
    store = new MemoryStore();
    const auth = new DelegatedAuth(config(), { tokenCache: store });
    const { request, code } = await signIn(auth);
    const account = await auth.redeemAuthorizationCode({ code, verifier: request.verifier as string, nonce: request.nonce });
    cfg = config({ homeAccountId: account.homeAccountId });
  });
  afterAll(() => fake.setAccessTokenLifetime(3599));

  test('rotation: every refresh saves the new cache with the new refresh token; the old one is dead', async () => {
    const auth = new DelegatedAuth(cfg, { tokenCache: store });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const savesBefore = store.saves.length;
      const before = refreshTokensIn(store.value as string);
      const token = await auth.acquireDelegatedToken();
      expect(token.accessToken).toBeTruthy();
      expect(store.saves.length).toBeGreaterThan(savesBefore);
      const after = refreshTokensIn(store.value as string);
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before[0]);
      seen.push(after[0]);
    }
    expect(new Set(seen).size).toBe(3);
    expect(fake.tokenRequests.filter((r) => r.grantType === 'refresh_token' && r.ok).length).toBeGreaterThanOrEqual(3);
    // a second server process with the same stored cache keeps working: it loads the latest token
    const other = new DelegatedAuth(cfg, { tokenCache: store });
    await expect(other.getToken()).resolves.toBeTruthy();
    // a stale copy of the cache (an already rotated refresh token) is refused
    const stale = new MemoryStore();
    stale.value = store.saves.find((s) => refreshTokensIn(s)[0] === seen[0]) as string;
    const err = await mailError(new DelegatedAuth(cfg, { tokenCache: stale }).getToken());
    expect(err.needsReconnect).toBe(true);
    expect(err.message).toMatch(/AADSTS700082/);
  });

  test('a revoked refresh token: AUTH_FAILED with needsReconnect and the reconnect hint', async () => {
    const auth = new DelegatedAuth(cfg, { tokenCache: store });
    expect(fake.revokeRefreshTokens(CARLA)).toBeGreaterThan(0);
    const err = await mailError(auth.acquireDelegatedToken());
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.needsReconnect).toBe(true);
    expect(needsReconnect(err)).toBe(true);
    expect(err.hint).toBe(RECONNECT_HINT);
    expect(err.message).toMatch(/AADSTS50173/);
    // the transport surfaces the same error on send
    const sendErr = await mailError(createGraphTransport(cfg, { tokenCache: store }).send({ from: { address: CARLA }, to: [{ address: 'dave@contoso.test' }], subject: 'x', text: 'x' }));
    expect(sendErr.needsReconnect).toBe(true);
    const result = await testGraphConnection(cfg, { tokenCache: store });
    expect(result.steps[0]).toMatchObject({ name: 'token', ok: false, error: { code: 'AUTH_FAILED', needsReconnect: true } });
  });

  test('no account in the cache yet: AUTH_FAILED with needsReconnect', async () => {
    const err = await mailError(new DelegatedAuth(config(), { tokenCache: new MemoryStore() }).acquireDelegatedToken());
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.needsReconnect).toBe(true);
  });
});

describe('the token cache goes only to the store', () => {
  test('no file write, no console output, no error text carries a refresh token; the module has no fs access', async () => {
    const spies = [
      jest.spyOn(fs, 'writeFileSync'),
      jest.spyOn(fs, 'appendFileSync'),
      jest.spyOn(fs, 'writeFile'),
      jest.spyOn(fs, 'appendFile'),
      jest.spyOn(fs, 'createWriteStream'),
      jest.spyOn(fs.promises, 'writeFile'),
      jest.spyOn(fs.promises, 'appendFile'),
      jest.spyOn(console, 'log'),
      jest.spyOn(console, 'info'),
      jest.spyOn(console, 'warn'),
      jest.spyOn(console, 'error'),
      jest.spyOn(console, 'debug'),
      jest.spyOn(process.stdout, 'write'),
      jest.spyOn(process.stderr, 'write'),
    ];
    const errors: unknown[] = [];
    const store = new MemoryStore();
    try {
      fake.setAccessTokenLifetime(60);
      const auth = new DelegatedAuth(config(), { tokenCache: store });
      const { request, code } = await signIn(auth);
      const account = await auth.redeemAuthorizationCode({ code, verifier: request.verifier as string, nonce: request.nonce });
      const cfg = config({ homeAccountId: account.homeAccountId });
      await createGraphTransport(cfg, { tokenCache: store }).send({ from: { address: CARLA }, to: [{ address: 'dave@contoso.test' }], subject: 'x', text: 'x' });
      await new DelegatedAuth(cfg, { tokenCache: store }).acquireDelegatedToken({ forceRefresh: true });
      fake.revokeRefreshTokens(CARLA);
      errors.push(await new DelegatedAuth(cfg, { tokenCache: store }).acquireDelegatedToken().catch((e) => e));
    } finally {
      fake.setAccessTokenLifetime(3599);
    }
    const secrets = store.saves.flatMap(refreshTokensIn);
    expect(secrets.length).toBeGreaterThan(1);
    const calls = spies.flatMap((s) => s.mock.calls.map((args) => args.map((a) => (Buffer.isBuffer(a) ? a.toString('latin1') : String(a))).join(' ')));
    spies.forEach((s) => s.mockRestore());
    for (const secret of secrets) {
      expect(calls.some((c) => c.includes(secret))).toBe(false);
      for (const e of errors) expect(JSON.stringify((e as MailError).toJSON()) + (e as Error).message + String((e as Error).stack)).not.toContain(secret);
    }
    const dir = path.join(__dirname, '../src/providers/graph');
    for (const file of fs.readdirSync(dir)) {
      const source = fs.readFileSync(path.join(dir, file), 'utf8');
      expect([file, /from ['"](node:)?fs(\/promises)?['"]|require\(['"](node:)?fs/.test(source)]).toEqual([file, false]);
      expect([file, /console\./.test(source)]).toEqual([file, false]);
    }
  });
});

describe('ROPC (password) — opt-in fallback', () => {
  test('used only when called: no password grant before, a working account after', async () => {
    expect(fake.tokenRequests.filter((r) => r.grantType === 'password')).toHaveLength(0);
    const store = new MemoryStore();
    const auth = new DelegatedAuth(config(), { tokenCache: store });
    const account = await auth.acquireByPassword(CARLA, PASSWORD);
    expect(account.username).toBe(CARLA);
    expect(fake.tokenRequests.filter((r) => r.grantType === 'password')).toHaveLength(1);
    expect(refreshTokensIn(store.value as string)).toHaveLength(1);
    await expect(auth.getToken()).resolves.toBeTruthy();
  });

  test('a wrong password: AUTH_FAILED, the password never in the error', async () => {
    const err = await mailError(new DelegatedAuth(config(), { tokenCache: new MemoryStore() }).acquireByPassword(CARLA, 'Wrong-Pass-987'));
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.message).toMatch(/AADSTS50126/);
    expect(JSON.stringify(err.toJSON())).not.toContain('Wrong-Pass-987');
  });

  test('an app without public client flows: the hint says how to enable them', async () => {
    const app = fake.addApp({ redirectUris: [REDIRECT] });
    fake.grantScopes(app.clientId, ['User.Read', 'Mail.ReadWrite', 'Mail.Send'], 'delegated');
    const err = await mailError(new DelegatedAuth(config({ clientId: app.clientId }), { tokenCache: new MemoryStore() }).acquireByPassword(CARLA, PASSWORD));
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.hint).toMatch(/Allow public client flows/);
  });
});

test('adminConsentUrl: the v2.0 admin consent endpoint; the fake grants and redirects back', () => {
  const url = adminConsentUrl(fake.tenantId, webApp, REDIRECT, { authorityHost: fake.authorityHost, state: 'consent-1' });
  const parsed = new URL(url);
  expect(`${parsed.origin}${parsed.pathname}`).toBe(`${fake.authorityHost}/${fake.tenantId}/v2.0/adminconsent`);
  expect(parsed.searchParams.get('client_id')).toBe(webApp);
  expect(parsed.searchParams.get('scope')).toBe('https://graph.microsoft.com/.default');
  const back = new URL(fake.adminConsentAs(url, { application: ['Mail.Send'] }));
  expect(back.searchParams.get('admin_consent')).toBe('True');
  expect(back.searchParams.get('state')).toBe('consent-1');
  expect(fake.app(webApp).applicationPermissions.has('Mail.Send')).toBe(true);
});
