/**
 * SMTP and IMAP with XOAUTH2 and a runtime token provider, against dovecot (oauth2 passdb) and the SMTP sink, both
 * checking each token at the fake Entra ID's introspection endpoint; tokens come from a real delegated sign-in.
 */
import { ImapFlow } from 'imapflow';
import { startMicrosoftFake, type MicrosoftFake } from '../../mail-testkit/src/fakes/microsoft';
import { startDovecot, type Dovecot } from '../../mail-testkit/src/dovecot';
import { startSmtpSink, type SmtpSink } from '../../mail-testkit/src/smtpSink';
import { DelegatedAuth, type GraphTokenCacheStore, type Ms365DelegatedConfig } from '../src/providers/graph';
import { createSendTransport, createSource, createSyncSource, createTransport } from '../src/providers';
import { SmtpWorkerTransport } from '../src/providers/smtp/smtpWorkerTransport';
import { MailError } from '../src/errors';
import type { SmtpImapAccountConfig } from '../src/providers/accountConfig';

const CARLA = 'carla@contoso.test';
const BOB = { user: 'bob@contoso.test', password: 'bob-pw-x2' };
const REDIRECT = 'https://nocobase.example.test/api/mailOAuth:callback';
const IMAP = 'https://outlook.office.com/IMAP.AccessAsUser.All';
const SMTP = 'https://outlook.office.com/SMTP.Send';

let fake: MicrosoftFake;
let dovecot: Dovecot;
let sink: SmtpSink;
let clientId: string;

class MemoryStore implements GraphTokenCacheStore {
  value: string | null = null;
  async load() {
    return this.value;
  }
  async save(serialized: string) {
    this.value = serialized;
  }
}

async function signedIn(scopes: string[]): Promise<DelegatedAuth> {
  const config: Ms365DelegatedConfig = {
    provider: 'ms365-delegated',
    address: CARLA,
    tenantId: fake.tenantId,
    clientId,
    redirectUri: REDIRECT,
    scopes,
    endpoints: { authorityHost: fake.authorityHost, ca: fake.caPem },
  };
  const auth = new DelegatedAuth(config, { tokenCache: new MemoryStore() });
  const request = await auth.buildAuthorizeUrl({ state: 's', loginHint: CARLA });
  const code = new URL(fake.authorizeAs(CARLA, request.url).redirectUrl).searchParams.get('code') as string;
  await auth.redeemAuthorizationCode({ code, verifier: request.verifier as string, nonce: request.nonce });
  return auth;
}

/** Hands out a refused token first, then real ones; notes each call's forceRefresh. */
function staleFirst(auth: DelegatedAuth, forced: Array<boolean | undefined>) {
  return {
    accessTokenProvider: async (o?: { forceRefresh?: boolean }) => {
      forced.push(o?.forceRefresh);
      return forced.length === 1 ? 'stale-token' : auth.getToken(o);
    },
  };
}

const account = (): SmtpImapAccountConfig => ({
  provider: 'smtp-imap',
  address: CARLA,
  smtp: { host: sink.host, port: sink.port, security: 'none' },
  imap: { host: dovecot.host, port: dovecot.imapPort, security: 'none' },
  auth: { method: 'xoauth2', accessToken: '' },
});

beforeAll(async () => {
  fake = await startMicrosoftFake({ introspectionHttp: true });
  fake.addUser({ upn: CARLA, password: 'entra-pw' });
  clientId = fake.addApp({ redirectUris: [REDIRECT], allowPublicClient: true }).clientId;
  const users = [{ user: CARLA, password: 'nobody-knows-this-one-7e1' }, BOB];
  dovecot = await startDovecot({ users, oauth2: { introspectionUrl: fake.introspectionUrl } });
  sink = await startSmtpSink({ dovecot, users, oauth2: { introspectionUrl: fake.introspectionUrl } });
});
afterAll(async () => {
  await sink?.close();
  await dovecot?.destroy();
  await fake?.close();
});

test('the introspection endpoint vouches only for live Outlook tokens with the asked scope', async () => {
  const auth = await signedIn([IMAP]);
  const token = await auth.getToken();
  expect(fake.introspect(token)).toMatchObject({ active: true, username: CARLA, scope: 'IMAP.AccessAsUser.All' });
  expect(fake.introspect(token, 'SMTP.Send')).toEqual({ active: false });
  expect(fake.introspect('made-up')).toEqual({ active: false });
  const res = await fetch(fake.introspectionUrl, { method: 'POST', body: new URLSearchParams({ token }) });
  expect(await res.json()).toMatchObject({ active: true, username: CARLA });
  fake.revokeAccessTokens(CARLA);
  expect(fake.introspect(token)).toEqual({ active: false });
});

test('syncs over IMAP and sends over SMTP with tokens from the provider; the mail arrives', async () => {
  const auth = await signedIn([IMAP, SMTP]);
  const calls: Array<boolean | undefined> = [];
  const runtime = { accessTokenProvider: (o?: { forceRefresh?: boolean }) => (calls.push(o?.forceRefresh), auth.getToken(o)) };
  const source = createSource(account(), runtime);
  try {
    const folders = await source.listFolders();
    expect(folders.map((f) => f.path)).toContain('INBOX');
  } finally {
    await source.close();
  }
  const transport = createTransport(account(), runtime);
  try {
    const result = await transport.send({ from: { address: CARLA }, to: [{ address: BOB.user }], subject: 'Per XOAUTH2', text: 'Hallo' });
    expect(result.accepted).toEqual([BOB.user]);
  } finally {
    await transport.close();
  }
  expect(sink.received.at(-1)?.authUser).toBe(CARLA);
  expect(calls.length).toBeGreaterThanOrEqual(2);

  const bob = new ImapFlow({ host: dovecot.host, port: dovecot.imapPort, secure: false, auth: { user: BOB.user, pass: BOB.password }, logger: false });
  await bob.connect();
  try {
    await bob.mailboxOpen('INBOX');
    expect(await bob.search({ subject: 'Per XOAUTH2' })).toHaveLength(1);
  } finally {
    await bob.logout();
  }
});

test('a refused token is renewed once; a token error keeps its code and needsReconnect', async () => {
  const auth = await signedIn([SMTP]);
  const forced: Array<boolean | undefined> = [];
  const transport = createTransport(account(), staleFirst(auth, forced));
  try {
    await transport.send({ from: { address: CARLA }, to: [{ address: BOB.user }], subject: 'Zweiter Versuch', text: 'x' });
  } finally {
    await transport.close();
  }
  expect(forced).toEqual([false, true]);

  const gone = new MailError('AUTH_FAILED', 'Microsoft 365 account is not connected.', { retryable: false, needsReconnect: true });
  const failing = { accessTokenProvider: async () => Promise.reject(gone) };
  const smtp = createTransport(account(), failing);
  await expect(smtp.send({ from: { address: CARLA }, to: [{ address: BOB.user }], subject: 'x', text: 'x' })).rejects.toBe(gone);
  await smtp.close();
  const imap = createSource(account(), failing);
  await expect(imap.listFolders()).rejects.toBe(gone);
  await imap.close();
  expect(gone.code).toBe('AUTH_FAILED');
});

test('IMAP renews a refused token once, here and in the sync worker; a refused renewal is the login error', async () => {
  const auth = await signedIn([IMAP]);
  for (const create of [createSource, createSyncSource]) {
    const forced: Array<boolean | undefined> = [];
    const source = create(account(), staleFirst(auth, forced));
    try {
      expect((await source.listFolders()).map((f) => f.path)).toContain('INBOX');
    } finally {
      await source.close();
    }
    expect(forced).toEqual([false, true]);
  }
  const stale = { accessTokenProvider: async () => 'stale-token' };
  const source = createSource(account(), stale);
  const err: any = await source.listFolders().catch((e) => e);
  await source.close();
  expect(err).toBeInstanceOf(MailError);
  expect(err.code).toBe('AUTH_FAILED');
});

test('the send worker asks the calling thread for each token, renews a refused one, passes a token error on', async () => {
  const auth = await signedIn([SMTP]);
  const forced: Array<boolean | undefined> = [];
  const transport = createSendTransport(account(), staleFirst(auth, forced));
  expect(transport).toBeInstanceOf(SmtpWorkerTransport);
  try {
    const result = await transport.send({ from: { address: CARLA }, to: [{ address: BOB.user }], subject: 'Aus dem Worker', text: 'x' });
    expect(result.accepted).toEqual([BOB.user]);
  } finally {
    await transport.close();
  }
  expect(forced).toEqual([false, true]);
  expect(sink.received.at(-1)?.authUser).toBe(CARLA);

  const gone = new MailError('AUTH_FAILED', 'Microsoft 365 account is not connected.', { retryable: false, needsReconnect: true, hint: 'Sign in again.' });
  const smtp = createSendTransport(account(), { accessTokenProvider: async () => Promise.reject(gone) });
  const err: any = await smtp.send({ from: { address: CARLA }, to: [{ address: BOB.user }], subject: 'x', text: 'x' }).catch((e) => e);
  await smtp.close();
  expect(err).toBeInstanceOf(MailError);
  expect(err).toMatchObject({ code: 'AUTH_FAILED', message: gone.message, needsReconnect: true, retryable: false, hint: 'Sign in again.' });
});
