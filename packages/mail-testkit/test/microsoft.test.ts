/**
 * The fake Microsoft 365 on its own, spoken to with plain HTTPS (trusting only its CA): Entra ID's
 * endpoints and error shapes, Graph's routes, delta semantics, throttling and limits.
 */
import { createHash, randomBytes } from 'node:crypto';
import https from 'node:https';
import MailComposer from 'nodemailer/lib/mail-composer';
import { parseMime, startMicrosoftFake, type MicrosoftFake } from '../src/fakes/microsoft';

const ANNA = 'anna@contoso.test';
const BOB = 'bob@contoso.test';
const REDIRECT = 'https://app.example.test/callback';

let fake: MicrosoftFake;
let appId: string;
let appToken: string;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function call(method: string, url: string, opts: { token?: string; json?: unknown; body?: string | Buffer; headers?: Record<string, string>; form?: Record<string, string> } = {}): Promise<Reply> {
  const target = /^https:/.test(url) ? url : `${fake.origin}${url}`;
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: Buffer | undefined;
  if (opts.json !== undefined) {
    body = Buffer.from(JSON.stringify(opts.json));
    headers['Content-Type'] = 'application/json';
  } else if (opts.form) {
    body = Buffer.from(new URLSearchParams(opts.form).toString());
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  } else if (opts.body !== undefined) body = Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (body) headers['Content-Length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = https.request(target, { method, headers, ca: fake.caPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const tokenUrl = () => `/${fake.tenantId}/oauth2/v2.0/token`;
const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

async function clientToken(clientId: string, secret: string): Promise<string> {
  const res = await call('POST', tokenUrl(), { form: { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'https://graph.microsoft.com/.default' } });
  expect(res.status).toBe(200);
  return res.json.access_token;
}

beforeAll(async () => {
  fake = await startMicrosoftFake();
  fake.addUser({ upn: ANNA, password: 'anna-pw' });
  fake.addUser({ upn: BOB });
  appId = fake.addApp({ secrets: ['secret-1'], redirectUris: [REDIRECT], applicationPermissions: ['Mail.ReadWrite', 'Mail.Send'] }).clientId;
  appToken = await clientToken(appId, 'secret-1');
});
afterAll(() => fake?.close());

describe('Entra ID', () => {
  test('OpenID configuration and keys of the tenant', async () => {
    const res = await call('GET', `/${fake.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      issuer: `${fake.origin}/${fake.tenantId}/v2.0`,
      token_endpoint: `${fake.origin}/${fake.tenantId}/oauth2/v2.0/token`,
      authorization_endpoint: `${fake.origin}/${fake.tenantId}/oauth2/v2.0/authorize`,
      jwks_uri: `${fake.origin}/${fake.tenantId}/discovery/v2.0/keys`,
    });
    const keys = await call('GET', `/${fake.tenantId}/discovery/v2.0/keys`);
    expect(keys.json.keys[0]).toMatchObject({ kty: 'RSA', use: 'sig' });
  });

  test('client credentials: a JWT for Graph with the granted roles', () => {
    expect(claims(appToken)).toMatchObject({ aud: 'https://graph.microsoft.com', appid: appId, tid: fake.tenantId, roles: ['Mail.ReadWrite', 'Mail.Send'], idtyp: 'app' });
  });

  test("errors in Entra's shape: unknown tenant, unknown client, bad secret, bad scope", async () => {
    const tenant = await call('POST', '/not-a-tenant.test/oauth2/v2.0/token', { form: { grant_type: 'client_credentials', client_id: appId, client_secret: 'secret-1', scope: 'https://graph.microsoft.com/.default' } });
    expect(tenant.status).toBe(400);
    expect(tenant.json).toMatchObject({ error: 'invalid_request', error_codes: [90002] });
    expect(tenant.json.error_description).toMatch(/^AADSTS90002: Tenant 'not-a-tenant.test' not found/);
    expect(tenant.json).toHaveProperty('trace_id');
    expect(tenant.json).toHaveProperty('correlation_id');
    const client = await call('POST', tokenUrl(), { form: { grant_type: 'client_credentials', client_id: 'nope', client_secret: 'x', scope: 'https://graph.microsoft.com/.default' } });
    expect(client.json).toMatchObject({ error: 'unauthorized_client', error_codes: [700016] });
    const secret = await call('POST', tokenUrl(), { form: { grant_type: 'client_credentials', client_id: appId, client_secret: 'wrong', scope: 'https://graph.microsoft.com/.default' } });
    expect(secret.status).toBe(401);
    expect(secret.json).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    const scope = await call('POST', tokenUrl(), { form: { grant_type: 'client_credentials', client_id: appId, client_secret: 'secret-1', scope: 'Mail.Send' } });
    expect(scope.json).toMatchObject({ error: 'invalid_scope', error_codes: [1002012] });
  });

  describe('authorization code with PKCE, refresh tokens, ROPC', () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorizeUrl = (extra: Record<string, string> = {}) =>
      `${fake.origin}/${fake.tenantId}/oauth2/v2.0/authorize?${new URLSearchParams({
        client_id: appId,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid profile offline_access Mail.Read Mail.Send',
        state: 'st-1',
        nonce: 'n-1',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      })}`;
    const redeem = (code: string, extra: Record<string, string> = {}) =>
      call('POST', tokenUrl(), { form: { grant_type: 'authorization_code', client_id: appId, client_secret: 'secret-1', code, redirect_uri: REDIRECT, code_verifier: verifier, scope: 'Mail.Read Mail.Send', ...extra } });

    test('sign-in redirect carries code and state; the id token has the claims MSAL needs', async () => {
      const result = fake.authorizeAs(ANNA, authorizeUrl());
      const back = new URL(result.redirectUrl);
      expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
      expect(back.searchParams.get('state')).toBe('st-1');
      const res = await redeem(back.searchParams.get('code') as string);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ token_type: 'Bearer', scope: expect.stringContaining('Mail.Send') });
      expect(claims(res.json.id_token)).toMatchObject({ aud: appId, iss: `${fake.origin}/${fake.tenantId}/v2.0`, tid: fake.tenantId, oid: fake.user(ANNA).id, preferred_username: ANNA, nonce: 'n-1', ver: '2.0' });
      expect(JSON.parse(Buffer.from(res.json.client_info, 'base64url').toString())).toEqual({ uid: fake.user(ANNA).id, utid: fake.tenantId });
      expect(claims(res.json.access_token).scp.split(' ').sort()).toEqual(['Mail.Read', 'Mail.Send']);
      expect(res.json.refresh_token).toBeTruthy();
    });

    test('wrong verifier, replay, redirect mismatch: invalid_grant with the AADSTS code', async () => {
      const code1 = new URL(fake.authorizeAs(ANNA, authorizeUrl()).redirectUrl).searchParams.get('code') as string;
      expect((await redeem(code1, { code_verifier: 'x'.repeat(43) })).json).toMatchObject({ error: 'invalid_grant', error_codes: [501481] });
      const code2 = new URL(fake.authorizeAs(ANNA, authorizeUrl()).redirectUrl).searchParams.get('code') as string;
      expect((await redeem(code2, { redirect_uri: 'https://evil.test/cb' })).json).toMatchObject({ error: 'invalid_grant', error_codes: [500112] });
      const code3 = new URL(fake.authorizeAs(ANNA, authorizeUrl()).redirectUrl).searchParams.get('code') as string;
      expect((await redeem(code3)).status).toBe(200);
      expect((await redeem(code3)).json).toMatchObject({ error: 'invalid_grant', error_codes: [54005] });
    });

    test('an unregistered redirect URI is refused on the page itself (no redirect)', () => {
      expect(() => fake.authorizeAs(ANNA, authorizeUrl({ redirect_uri: 'https://evil.test/cb' }))).toThrow(/AADSTS50011/);
    });

    test('refresh: a new refresh token each time, the old one dead; revocation', async () => {
      const code = new URL(fake.authorizeAs(ANNA, authorizeUrl()).redirectUrl).searchParams.get('code') as string;
      const first = (await redeem(code)).json.refresh_token;
      const refresh = (rt: string) => call('POST', tokenUrl(), { form: { grant_type: 'refresh_token', client_id: appId, client_secret: 'secret-1', refresh_token: rt, scope: 'Mail.Read offline_access' } });
      const second = await refresh(first);
      expect(second.status).toBe(200);
      expect(second.json.refresh_token).not.toBe(first);
      expect((await refresh(first)).json).toMatchObject({ error: 'invalid_grant', error_codes: [700082] });
      fake.revokeRefreshTokens(ANNA);
      const revoked = await refresh(second.json.refresh_token);
      expect(revoked.status).toBe(400);
      expect(revoked.json).toMatchObject({ error: 'invalid_grant', error_codes: [50173] });
    });

    test('ROPC only for apps that allow public client flows', async () => {
      const form = { grant_type: 'password', client_id: '', username: ANNA, password: 'anna-pw', scope: 'openid offline_access Mail.Read' };
      const closed = fake.addApp({ delegatedPermissions: ['Mail.Read'] });
      expect((await call('POST', tokenUrl(), { form: { ...form, client_id: closed.clientId } })).json).toMatchObject({ error: 'invalid_client', error_codes: [7000218] });
      const open = fake.addApp({ allowPublicClient: true, delegatedPermissions: ['Mail.Read'] });
      const ok = await call('POST', tokenUrl(), { form: { ...form, client_id: open.clientId } });
      expect(ok.status).toBe(200);
      expect(ok.json.refresh_token).toBeTruthy();
      expect((await call('POST', tokenUrl(), { form: { ...form, client_id: open.clientId, password: 'nope' } })).json).toMatchObject({ error: 'invalid_grant', error_codes: [50126] });
    });

    test('the HTML sign-in page posts back and redirects like a browser sign-in', async () => {
      const page = await call('GET', authorizeUrl());
      expect(page.status).toBe(200);
      expect(page.text).toMatch(/<form method="post"/);
      const request = /name="request" value="([^"]+)"/.exec(page.text)?.[1].replace(/&amp;/g, '&') as string;
      const post = await call('POST', `/${fake.tenantId}/oauth2/v2.0/authorize`, { form: { request, login: ANNA, passwd: 'anna-pw', consent: 'yes' } });
      expect(post.status).toBe(302);
      const location = new URL(post.headers.location as string);
      expect(location.searchParams.get('code')).toBeTruthy();
      expect(location.searchParams.get('state')).toBe('st-1');
    });
  });
});

describe('Graph', () => {
  test('bearer token required; missing permission → 403 ErrorAccessDenied; unknown user → 404', async () => {
    const none = await call('GET', `/v1.0/users/${ANNA}/mailFolders`);
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe('InvalidAuthenticationToken');
    const bare = fake.addApp({ secrets: ['s'] });
    const token = await clientToken(bare.clientId, 's');
    const denied = await call('POST', `/v1.0/users/${ANNA}/sendMail`, { token, json: { message: { toRecipients: [{ emailAddress: { address: BOB } }] } } });
    expect(denied.status).toBe(403);
    expect(denied.json.error).toMatchObject({ code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.' });
    expect(denied.json.error.innerError).toHaveProperty('request-id');
    const user = await call('GET', `/v1.0/users/${ANNA}`, { token: appToken });
    expect(user.json.error.code).toBe('Authorization_RequestDenied');
    const unknown = await call('GET', '/v1.0/users/ghost@contoso.test/mailFolders', { token: appToken });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('ErrorInvalidUser');
    const me = await call('GET', '/v1.0/me', { token: appToken });
    expect(me.status).toBe(400);
  });

  test('mail folders, well-known names as ids, $select checked', async () => {
    const list = await call('GET', `/v1.0/users/${ANNA}/mailFolders?$top=3`, { token: appToken });
    expect(list.json.value).toHaveLength(3);
    expect(list.json['@odata.nextLink']).toMatch(/\$skip=3|%24skip=3/);
    const inbox = await call('GET', `/v1.0/users/${ANNA}/mailFolders/inbox?$select=id,displayName`, { token: appToken });
    expect(inbox.json).toMatchObject({ displayName: 'Inbox' });
    const byId = await call('GET', `/v1.0/users/${ANNA}/mailFolders('${encodeURIComponent(inbox.json.id)}')`, { token: appToken });
    expect(byId.json.displayName).toBe('Inbox');
    const bad = await call('GET', `/v1.0/users/${ANNA}/mailFolders/inbox/messages?$select=subjekt`, { token: appToken });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/Could not find a property named 'subjekt'/);
  });

  test('delta: pages by Prefer maxpagesize, nextLink then deltaLink; changes since, removals', async () => {
    const USER = 'delta@contoso.test';
    fake.addUser({ upn: USER });
    const seeded = fake.addMessages(USER, 'inbox', 25);
    const prefer = { Prefer: 'odata.maxpagesize=10, IdType="ImmutableId"' };
    let url = `/v1.0/users/${USER}/mailFolders/inbox/messages/delta?$select=subject,isRead,internetMessageHeaders`;
    const ids: string[] = [];
    let deltaLink = '';
    for (let pages = 0; pages < 10 && url; pages++) {
      const res = await call('GET', url, { token: appToken, headers: prefer });
      expect(res.status).toBe(200);
      expect(res.headers['preference-applied']).toMatch(/odata\.maxpagesize=10/);
      ids.push(...res.json.value.map((m: { id: string }) => m.id));
      if (res.json.value[0]) expect(Object.keys(res.json.value[0]).sort()).toEqual(['@odata.etag', '@odata.type', 'id', 'internetMessageHeaders', 'isRead', 'subject']);
      url = res.json['@odata.nextLink'] ?? '';
      if (url) expect(url).toMatch(/mailFolders\('[^']+'\)\/messages\/delta\?\$skiptoken=/);
      deltaLink = res.json['@odata.deltaLink'] ?? deltaLink;
    }
    expect(ids).toHaveLength(25);
    expect(new Set(ids)).toEqual(new Set(seeded.map((m) => m.immutableId)));
    expect(deltaLink).toMatch(/\$deltatoken=/);

    const [fresh] = fake.addMessages(USER, 'inbox', [{ subject: 'fresh' }]);
    fake.markRead(USER, seeded[0].immutableId);
    fake.deleteMessage(USER, seeded[1].immutableId);
    const changes = await call('GET', deltaLink, { token: appToken, headers: prefer });
    const value = changes.json.value as Array<Record<string, unknown>>;
    expect(value).toEqual(
      expect.arrayContaining([
        { '@odata.type': '#microsoft.graph.message', id: seeded[1].immutableId, '@removed': { reason: 'deleted' } },
        expect.objectContaining({ id: seeded[0].immutableId, isRead: true }),
        expect.objectContaining({ id: fresh.immutableId, subject: 'fresh' }),
      ]),
    );
    expect(value).toHaveLength(3);
    // without the ImmutableId preference: REST ids
    const rest = await call('GET', `/v1.0/users/${USER}/mailFolders/inbox/messages/delta?$select=subject`, { token: appToken });
    expect(rest.json.value.map((m: { id: string }) => m.id)).toContain(seeded[2].restId);
    fake.expireDeltaTokens();
    const gone = await call('GET', changes.json['@odata.deltaLink'], { token: appToken });
    expect(gone.status).toBe(410);
    expect(gone.json.error.code).toBe('SyncStateNotFound');
  });

  test('sendMail JSON: shape validated, 202 with an empty body, Sent Items and recipient inbox', async () => {
    const url = `/v1.0/users/${ANNA}/sendMail`;
    const bad = await call('POST', url, { token: appToken, body: '{"message": ', headers: { 'Content-Type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('RequestBodyRead');
    expect((await call('POST', url, { token: appToken, json: { saveToSentItems: true } })).json.error.code).toBe('ErrorInvalidRequest');
    expect((await call('POST', url, { token: appToken, json: { message: { subject: 'x' } } })).json.error.code).toBe('ErrorInvalidRecipients');
    expect((await call('POST', url, { token: appToken, json: { message: { subjekt: 'x' } } })).json.error.code).toBe('RequestBodyRead');
    const header = await call('POST', url, { token: appToken, json: { message: { toRecipients: [{ emailAddress: { address: BOB } }], internetMessageHeaders: [{ name: 'In-Reply-To', value: '<a@b>' }] } } });
    expect(header.json.error.code).toBe('InvalidInternetMessageHeader');
    const ok = await call('POST', url, {
      token: appToken,
      json: { message: { subject: 'Hallo', body: { contentType: 'HTML', content: '<p>Hi</p>' }, toRecipients: [{ emailAddress: { address: BOB, name: 'Bob' } }], internetMessageHeaders: [{ name: 'X-Case', value: '7' }] }, saveToSentItems: true },
    });
    expect(ok.status).toBe(202);
    expect(ok.text).toBe('');
    expect(fake.messagesIn(BOB, 'inbox').some((m) => m.subject === 'Hallo')).toBe(true);
    expect(fake.messagesIn(ANNA, 'sentitems').some((m) => m.subject === 'Hallo')).toBe(true);
  });

  test('sendMail MIME: base64 text/plain; invalid base64 → 400; the Message-ID is kept', async () => {
    const url = `/v1.0/users/${ANNA}/sendMail`;
    expect((await call('POST', url, { token: appToken, body: 'not base64!', headers: { 'Content-Type': 'text/plain' } })).json.error.code).toBe('ErrorMimeContentInvalidBase64String');
    const mime = await new MailComposer({ from: ANNA, to: BOB, bcc: 'hidden@contoso.test', subject: 'Über MIME', text: 'Grüße', messageId: '<mime-1@contoso.test>', inReplyTo: '<p@x.test>', references: ['<p@x.test>'] }).compile().build();
    const res = await call('POST', url, { token: appToken, body: mime.toString('base64'), headers: { 'Content-Type': 'text/plain' } });
    expect(res.status).toBe(202);
    const got = fake.messagesIn(BOB, 'inbox').find((m) => m.internetMessageId === '<mime-1@contoso.test>');
    expect(got?.subject).toBe('Über MIME');
    expect(got?.body.content.trimEnd()).toBe('Grüße');
    expect(fake.sent[fake.sent.length - 1]).toMatchObject({ via: 'mime', bcc: [], inReplyTo: '<p@x.test>' });
  });

  test('draft + upload session + send; upload URL refuses a bearer token and misaligned chunks', async () => {
    const draft = await call('POST', `/v1.0/users/${ANNA}/messages`, { token: appToken, json: { subject: 'big', toRecipients: [{ emailAddress: { address: BOB } }] }, headers: { Prefer: 'IdType="ImmutableId"' } });
    expect(draft.status).toBe(201);
    expect(draft.json.isDraft).toBe(true);
    const data = randomBytes(4 * 1024 * 1024);
    const session = await call('POST', `/v1.0/users/${ANNA}/messages/${encodeURIComponent(draft.json.id)}/attachments/createUploadSession`, {
      token: appToken,
      json: { AttachmentItem: { attachmentType: 'file', name: 'big.bin', size: data.length } },
    });
    expect(session.status).toBe(201);
    expect(session.json.nextExpectedRanges).toEqual(['0-']);
    const put = (start: number, end: number, token?: string) =>
      call('PUT', session.json.uploadUrl, { token, body: data.subarray(start, end + 1), headers: { 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Type': 'application/octet-stream' } });
    expect((await put(0, 327679, appToken)).status).toBe(401);
    expect((await put(0, 99999)).status).toBe(400);
    const chunk = 10 * 327680;
    const first = await put(0, chunk - 1);
    expect(first.status).toBe(200);
    expect(first.json.nextExpectedRanges).toEqual([`${chunk}-`]);
    expect((await put(0, chunk - 1)).status).toBe(416);
    expect((await put(chunk, data.length - 1)).status).toBe(201);
    const sent = await call('POST', `/v1.0/users/${ANNA}/messages/${encodeURIComponent(draft.json.id)}/send`, { token: appToken });
    expect(sent.status).toBe(202);
    const got = fake.messagesIn(BOB, 'inbox').find((m) => m.subject === 'big');
    expect(got?.attachments[0].content.equals(data)).toBe(true);
    // the sent message keeps its immutable id in Sent Items
    expect(fake.messagesIn(ANNA, 'sentitems').some((m) => m.immutableId === draft.json.id)).toBe(true);
  });

  test('attachments: list with $select, single, $value', async () => {
    const [m] = fake.addMessages(ANNA, 'inbox', [{ subject: 'att', attachments: [{ name: 'a.txt', content: 'hello', contentType: 'text/plain' }] }]);
    const list = await call('GET', `/v1.0/users/${ANNA}/messages/${encodeURIComponent(m.immutableId)}/attachments?$select=id,name,size`, { token: appToken });
    expect(list.json.value).toEqual([{ '@odata.type': '#microsoft.graph.fileAttachment', '@odata.mediaContentType': 'text/plain', id: expect.any(String), name: 'a.txt', size: 5 }]);
    const raw = await call('GET', `/v1.0/users/${ANNA}/messages/${encodeURIComponent(m.immutableId)}/attachments/${encodeURIComponent(list.json.value[0].id)}/$value`, { token: appToken });
    expect(raw.text).toBe('hello');
    expect(raw.headers['content-type']).toBe('text/plain');
  });

  test('throttleNext: 429 ApplicationThrottled with Retry-After; failNext: 503', async () => {
    fake.throttleNext(1, 7);
    const throttled = await call('GET', `/v1.0/users/${ANNA}/mailFolders`, { token: appToken });
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('7');
    expect(throttled.json.error).toMatchObject({ code: 'ApplicationThrottled', message: expect.stringMatching(/MailboxConcurrency/) });
    fake.failNext(1, 503, 2);
    const unavailable = await call('GET', `/v1.0/users/${ANNA}/mailFolders`, { token: appToken });
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('2');
    expect((await call('GET', `/v1.0/users/${ANNA}/mailFolders`, { token: appToken })).status).toBe(200);
  });

  test('a fifth concurrent request to one mailbox: 429 MailboxConcurrency; other mailboxes unaffected', async () => {
    // Each request stays in flight for 2 s, so all six overlap even on a loaded machine.
    fake.setLatency(2000);
    try {
      const results = await Promise.all([
        ...Array.from({ length: 6 }, () => call('GET', `/v1.0/users/${ANNA}/mailFolders/inbox`, { token: appToken })),
        call('GET', `/v1.0/users/${BOB}/mailFolders/inbox`, { token: appToken }),
      ]);
      const anna = results.slice(0, 6);
      expect(anna.filter((r) => r.status === 200)).toHaveLength(4);
      const limited = anna.filter((r) => r.status === 429);
      expect(limited).toHaveLength(2);
      expect(limited[0].json.error.code).toBe('ApplicationThrottled');
      expect(limited[0].headers['retry-after']).toBe('1');
      expect(results[6].status).toBe(200);
      expect(fake.maxConcurrent(ANNA)).toBeGreaterThan(4);
    } finally {
      fake.setLatency(0);
    }
  });
});

test('parseMime reads what nodemailer writes: words, parameters, multiparts, encodings', async () => {
  const raw = await new MailComposer({
    from: { name: 'Jürgen Müller', address: 'j@x.test' },
    to: [{ name: 'A, B', address: 'ab@x.test' }, 'c@x.test'],
    subject: 'Grüße — ein sehr langer Betreff, der sicher umbrochen wird, weil er länger als eine Zeile ist',
    text: 'Zeile 1\nZeile 2 mit Ümlaut',
    html: '<p>Zeile 1</p>',
    messageId: '<abc@x.test>',
    attachments: [
      { filename: 'Bericht März.pdf', content: Buffer.from('pdfdata') },
      { filename: 'logo.png', content: Buffer.from([1, 2, 3]), cid: 'logo@x' },
    ],
  }).compile().build();
  const m = parseMime(raw);
  expect(m.from).toEqual({ name: 'Jürgen Müller', address: 'j@x.test' });
  expect(m.to).toEqual([{ name: 'A, B', address: 'ab@x.test' }, { name: '', address: 'c@x.test' }]);
  expect(m.subject).toBe('Grüße — ein sehr langer Betreff, der sicher umbrochen wird, weil er länger als eine Zeile ist');
  expect(m.text).toBe('Zeile 1\nZeile 2 mit Ümlaut');
  expect(m.html).toBe('<p>Zeile 1</p>');
  expect(m.messageId).toBe('<abc@x.test>');
  expect(m.attachments.map((a) => [a.filename, a.content.toString('hex'), a.inline, a.contentId ?? null]).sort()).toEqual([
    ['Bericht März.pdf', Buffer.from('pdfdata').toString('hex'), false, null],
    ['logo.png', '010203', true, 'logo@x'],
  ]);
});
