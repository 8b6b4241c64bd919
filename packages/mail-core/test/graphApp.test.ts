/**
 * App-only Microsoft 365 (client credentials) against the fake Entra ID + Graph over real HTTPS:
 * sending as MIME and JSON, large attachments through upload sessions, shared mailboxes,
 * throttling, the per-mailbox concurrency limit, and the errors a user can meet.
 */
import { createHash } from 'node:crypto';
import { startMicrosoftFake, makeClientCertificate, type MicrosoftFake } from '../../mail-testkit/src/fakes/microsoft';
import { createGraphTransport, testGraphConnection, type Ms365AppConfig, type GraphRuntime } from '../src/providers/graph';
import { MailError } from '../src/errors';

const ANNA = 'anna@contoso.test';
const BOB = 'bob@contoso.test';
const TEAM = 'team@contoso.test';
const SECRET = 'app-secret-Q7~xyz';

let fake: MicrosoftFake;
let clientId: string;

function config(overrides: Partial<Ms365AppConfig> = {}): Ms365AppConfig {
  return {
    provider: 'ms365-app',
    address: ANNA,
    mailbox: ANNA,
    tenantId: fake.tenantId,
    clientId,
    auth: { method: 'client-secret', clientSecret: SECRET },
    sharedMailboxes: [TEAM],
    endpoints: { authorityHost: fake.authorityHost, graphBaseUrl: fake.graphBaseUrl, ca: fake.caPem },
    ...overrides,
  };
}

const runtime: GraphRuntime = { retry: { baseDelayMs: 20 } };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const header = (m: { internetMessageHeaders: Array<{ name: string; value: string }> }, name: string) =>
  m.internetMessageHeaders.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;

async function mailError(p: Promise<unknown>): Promise<MailError & { needsReconnect?: boolean }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(MailError);
    return err as MailError;
  }
  throw new Error('expected a MailError');
}

beforeAll(async () => {
  fake = await startMicrosoftFake();
  fake.addUser({ upn: ANNA, displayName: 'Anna Berger', aliases: ['info@contoso.test'] });
  fake.addUser({ upn: BOB, displayName: 'Bob' });
  fake.addUser({ upn: TEAM, displayName: 'Team', shared: true });
  clientId = fake.addApp({ secrets: [SECRET], applicationPermissions: ['Mail.Send', 'Mail.ReadWrite', 'User.Read.All'] }).clientId;
});
afterAll(() => fake?.close());

describe('sending', () => {
  test('verify: an app-only token, then the mailbox', async () => {
    const before = fake.tokenRequests.length;
    await createGraphTransport(config(), runtime).verify();
    expect(fake.tokenRequests.slice(before).map((r) => [r.grantType, r.ok])).toEqual([['client_credentials', true]]);
    expect(fake.requestsTo(/\/users\/[^/]+$/, 'GET').length).toBeGreaterThan(0);
  });

  test('as MIME: Message-ID, In-Reply-To and References survive; copy in Sent Items, delivered to the recipient', async () => {
    const transport = createGraphTransport(config(), runtime);
    const result = await transport.send({
      from: { name: 'Anna Berger', address: ANNA },
      to: [{ name: 'Bob', address: BOB }],
      bcc: [{ address: 'audit@elsewhere.test' }],
      subject: 'Re: Angebot V-2024-17',
      text: 'Hallo Bob, anbei die Antwort.',
      html: '<p>Hallo Bob, anbei die Antwort.</p>',
      inReplyTo: '<orig-1@customer.test>',
      references: ['<root@customer.test>', '<orig-1@customer.test>'],
      headers: { 'X-Mailbridge-Case': 'V-2024-17' },
      attachments: [{ filename: 'angebot.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 small') }],
    });
    expect(result.messageId).toMatch(/^<[^@]+@contoso\.test>$/);
    expect(result.accepted).toEqual([BOB, 'audit@elsewhere.test']);
    const sent = fake.sent.find((s) => s.internetMessageId === result.messageId);
    expect(sent).toMatchObject({ via: 'mime', mailbox: ANNA, inReplyTo: '<orig-1@customer.test>', references: ['<root@customer.test>', '<orig-1@customer.test>'], bcc: ['audit@elsewhere.test'] });
    const [received] = fake.messagesIn(BOB, 'inbox').filter((m) => m.internetMessageId === result.messageId);
    expect(received.subject).toBe('Re: Angebot V-2024-17');
    expect(header(received, 'In-Reply-To')).toBe('<orig-1@customer.test>');
    expect(header(received, 'X-Mailbridge-Case')).toBe('V-2024-17');
    expect(received.bccRecipients).toEqual([]);
    expect(received.attachments.map((a) => a.name)).toEqual(['angebot.pdf']);
    expect(received.mime?.toString('latin1')).not.toMatch(/^Bcc:/im);
    const copy = fake.messagesIn(ANNA, 'sentitems').find((m) => m.internetMessageId === result.messageId);
    expect(copy?.bccRecipients.map((b) => b.address)).toEqual(['audit@elsewhere.test']);
  });

  test('as JSON (sendFormat json): a Graph message, attachments inline, delivered', async () => {
    const result = await createGraphTransport(config({ sendFormat: 'json' }), runtime).send({
      from: { address: ANNA },
      to: [{ address: BOB }],
      cc: [{ name: 'Extern', address: 'x@elsewhere.test' }],
      subject: 'JSON format',
      html: '<b>Hi</b>',
      headers: { 'X-Mailbridge-Case': 'K-9', 'Auto-Submitted': 'no' },
      attachments: [{ filename: 'notes.txt', content: 'some notes' }],
    });
    const sent = fake.sent.find((s) => s.internetMessageId === result.messageId);
    expect(sent).toMatchObject({ via: 'json', to: [BOB], cc: ['x@elsewhere.test'], attachments: [{ name: 'notes.txt', size: 10, isInline: false }] });
    const received = fake.messagesIn(BOB, 'inbox').find((m) => m.internetMessageId === result.messageId);
    expect(received?.body).toEqual({ contentType: 'html', content: '<b>Hi</b>' });
    expect(header(received!, 'X-Mailbridge-Case')).toBe('K-9');
  });

  test('a 5 MB attachment goes through a draft and an upload session; the draft is gone afterwards', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) % 251;
    const uploadsBefore = fake.uploads.length;
    const result = await createGraphTransport(config(), runtime).send({
      from: { address: ANNA },
      to: [{ address: BOB }],
      subject: 'Großer Anhang',
      text: 'see attachment',
      inReplyTo: '<thread-7@customer.test>',
      attachments: [
        { filename: 'small.txt', content: 'small one' },
        { filename: 'scan.bin', contentType: 'application/octet-stream', content: big },
      ],
    });
    const sent = fake.sent.find((s) => s.internetMessageId === result.messageId);
    expect(sent?.via).toBe('draft');
    expect(sent?.inReplyTo).toBe('<thread-7@customer.test>');
    const uploads = fake.uploads.slice(uploadsBefore);
    expect(uploads.map((u) => u.status)).toEqual([200, 201]);
    expect(uploads[0]).toMatchObject({ start: 0, total: big.length });
    const received = fake.messagesIn(BOB, 'inbox').find((m) => m.internetMessageId === result.messageId);
    const scan = received?.attachments.find((a) => a.name === 'scan.bin');
    expect(scan?.size).toBe(big.length);
    expect(sha(scan!.content)).toBe(sha(big));
    expect(received?.attachments.map((a) => a.name).sort()).toEqual(['scan.bin', 'small.txt']);
    expect(fake.messagesIn(ANNA, 'drafts')).toEqual([]);
    expect(fake.messagesIn(ANNA, 'sentitems').some((m) => m.internetMessageId === result.messageId)).toBe(true);
    expect(result.providerMessageId).not.toBe(result.messageId);
  });

  test('from a shared mailbox: sent through it, the copy lands in its Sent Items', async () => {
    const result = await createGraphTransport(config(), runtime).send({
      from: { name: 'Team', address: TEAM },
      to: [{ address: BOB }],
      subject: 'From the team',
      text: 'hello',
    });
    const sent = fake.sent.find((s) => s.internetMessageId === result.messageId);
    expect(sent).toMatchObject({ mailbox: TEAM, from: TEAM, deliveredTo: [BOB] });
    expect(fake.messagesIn(TEAM, 'sentitems').map((m) => m.internetMessageId)).toContain(result.messageId);
    expect(fake.messagesIn(ANNA, 'sentitems').map((m) => m.internetMessageId)).not.toContain(result.messageId);
    expect(fake.requestsTo(/\/users\/team%40contoso\.test\/sendMail$|\/users\/team@contoso\.test\/sendMail$/).length).toBe(1);
  });

  test('from an alias of the mailbox: sent through the mailbox with that From', async () => {
    const result = await createGraphTransport(config(), runtime).send({ from: { address: 'info@contoso.test' }, to: [{ address: BOB }], subject: 'alias', text: 'x' });
    expect(fake.sent.find((s) => s.internetMessageId === result.messageId)).toMatchObject({ mailbox: ANNA, from: 'info@contoso.test' });
  });

  test('from an address the mailbox may not send as: AUTH_FAILED that says how to allow it', async () => {
    const err = await mailError(createGraphTransport(config(), runtime).send({ from: { address: 'ceo@contoso.test' }, to: [{ address: BOB }], subject: 'x', text: 'x' }));
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.hint).toMatch(/Send As/);
  });

  test('certificate credentials (client assertion signed with the registered certificate)', async () => {
    const cert = await makeClientCertificate();
    const app = fake.addApp({ certificates: [cert.certPem], applicationPermissions: ['Mail.Send', 'User.Read.All'] });
    const transport = createGraphTransport(
      config({ clientId: app.clientId, auth: { method: 'certificate', thumbprintSha256: cert.thumbprintSha256, privateKeyPem: cert.privateKeyPem } }),
      runtime,
    );
    await transport.verify();
    const result = await transport.send({ from: { address: ANNA }, to: [{ address: BOB }], subject: 'cert', text: 'x' });
    expect(fake.sent.some((s) => s.internetMessageId === result.messageId)).toBe(true);
    const other = await makeClientCertificate('not-registered');
    const err = await mailError(
      createGraphTransport(config({ clientId: app.clientId, auth: { method: 'certificate', thumbprintSha256: other.thumbprintSha256, privateKeyPem: other.privateKeyPem } }), runtime).verify(),
    );
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.hint).toMatch(/certificate/i);
  });
});

describe('errors a user can meet', () => {
  test('admin consent for Mail.Send missing: AUTH_FAILED naming Mail.Send, on send and on verify', async () => {
    const app = fake.addApp({ secrets: ['s2'], applicationPermissions: ['Mail.ReadWrite', 'User.Read.All'] });
    const transport = createGraphTransport(config({ clientId: app.clientId, auth: { method: 'client-secret', clientSecret: 's2' } }), runtime);
    const err = await mailError(transport.send({ from: { address: ANNA }, to: [{ address: BOB }], subject: 'x', text: 'x' }));
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.hint).toMatch(/^Grant admin consent for Mail\.Send in Entra ID/);
    expect(err.responseCode).toBe(403);
    const verify = await mailError(transport.verify());
    expect(verify.code).toBe('AUTH_FAILED');
    expect(verify.hint).toMatch(/^Grant admin consent for Mail\.Send in Entra ID/);
    const test = await testGraphConnection(config({ clientId: app.clientId, auth: { method: 'client-secret', clientSecret: 's2' } }), runtime);
    expect(test.ok).toBe(false);
    expect(test.steps.find((s) => s.name === 'permissions')?.error?.hint).toMatch(/^Grant admin consent for Mail\.Send in Entra ID/);
  });

  test('unknown mailbox: MAILBOX_MISSING on send and verify', async () => {
    const transport = createGraphTransport(config({ mailbox: 'nobody@contoso.test', address: 'nobody@contoso.test' }), runtime);
    const err = await mailError(transport.send({ from: { address: 'nobody@contoso.test' }, to: [{ address: BOB }], subject: 'x', text: 'x' }));
    expect(err.code).toBe('MAILBOX_MISSING');
    expect(err.hint).toMatch(/nobody@contoso\.test/);
    expect((await mailError(transport.verify())).code).toBe('MAILBOX_MISSING');
  });

  test('wrong client secret: AUTH_FAILED with the secret hint, the secret itself never in the message', async () => {
    const err = await mailError(createGraphTransport(config({ auth: { method: 'client-secret', clientSecret: 'wrong-secret-value' } }), runtime).verify());
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.hint).toMatch(/client secret/i);
    expect(JSON.stringify(err.toJSON())).not.toContain('wrong-secret-value');
    expect(err.message).toMatch(/AADSTS7000215/);
  });

  test('unknown tenant and unknown client id', async () => {
    const tenant = await mailError(createGraphTransport(config({ tenantId: '00000000-1111-2222-3333-444444444444' }), runtime).verify());
    expect(tenant.code).toBe('AUTH_FAILED');
    expect(tenant.hint).toMatch(/tenant/i);
    const client = await mailError(createGraphTransport(config({ clientId: '99999999-1111-2222-3333-444444444444' }), runtime).verify());
    expect(client.hint).toMatch(/client\) id/);
  });

  test('an untrusted certificate (no CA configured): TLS_MISMATCH, not a hang', async () => {
    const err = await mailError(createGraphTransport(config({ endpoints: { authorityHost: fake.authorityHost, graphBaseUrl: fake.graphBaseUrl } }), runtime).verify());
    expect(err.code).toBe('TLS_MISMATCH');
    expect(err.hint).toMatch(/certificate is not trusted/);
  });

  test('test connection: token, mailbox, permissions, folders', async () => {
    const result = await testGraphConnection(config(), runtime);
    expect(result.steps.map((s) => [s.name, s.ok])).toEqual([
      ['token', true],
      ['mailbox', true],
      ['permissions', true],
      ['folders', true],
    ]);
    expect(result.ok).toBe(true);
    expect(result.steps[0].detail?.permissions).toEqual(expect.arrayContaining(['Mail.Send', 'Mail.ReadWrite']));
  });
});

describe('throttling and concurrency', () => {
  test('429 with Retry-After: the retry comes after the Retry-After (timestamps recorded by the fake)', async () => {
    fake.throttleNext(1, 1, { path: /\/sendMail$/ });
    const before = fake.requests.length;
    const result = await createGraphTransport(config(), runtime).send({ from: { address: ANNA }, to: [{ address: BOB }], subject: 'throttled', text: 'x' });
    const calls = fake.requests.slice(before).filter((r) => r.path.endsWith('/sendMail'));
    expect(calls.map((r) => r.status)).toEqual([429, 202]);
    expect(calls[0].retryAfter).toBe('1');
    expect(calls[1].startedAt - (calls[0].endedAt as number)).toBeGreaterThanOrEqual(1000);
    expect(fake.sent.filter((s) => s.internetMessageId === result.messageId)).toHaveLength(1);
  });

  test('still throttled after every attempt: RATE_LIMITED with retryAfterMs, exactly maxAttempts requests', async () => {
    fake.throttleNext(3, 0, { path: /\/sendMail$/ });
    const before = fake.requests.length;
    const err = await mailError(createGraphTransport(config(), { retry: { maxAttempts: 3, baseDelayMs: 10 } }).send({ from: { address: ANNA }, to: [{ address: BOB }], subject: 't', text: 'x' }));
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(fake.requests.slice(before).filter((r) => r.path.endsWith('/sendMail')).map((r) => r.status)).toEqual([429, 429, 429]);
  });

  test('a Retry-After longer than the retry policy allows fails at once with that retryAfterMs', async () => {
    fake.throttleNext(1, 600, { path: /\/sendMail$/ });
    const before = fake.requests.length;
    const err = await mailError(createGraphTransport(config(), { retry: { maxDelayMs: 30_000 } }).send({ from: { address: ANNA }, to: [{ address: BOB }], subject: 't', text: 'x' }));
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.retryAfterMs).toBe(600_000);
    expect(fake.requests.slice(before).filter((r) => r.path.endsWith('/sendMail'))).toHaveLength(1);
  });

  test('503 is retried; sendMail is not repeated after a 500 (it may have been sent)', async () => {
    fake.failNext(1, 503, undefined, { path: /\/sendMail$/ });
    await createGraphTransport(config(), runtime).send({ from: { address: ANNA }, to: [{ address: BOB }], subject: '503', text: 'x' });
    fake.failNext(1, 500, undefined, { path: /\/sendMail$/ });
    const before = fake.requests.length;
    const err = await mailError(createGraphTransport(config(), runtime).send({ from: { address: ANNA }, to: [{ address: BOB }], subject: '500', text: 'x' }));
    expect(err.code).toBe('PROVIDER_ERROR');
    expect(fake.requests.slice(before).filter((r) => r.path.endsWith('/sendMail'))).toHaveLength(1);
  });

  test('never more than 4 concurrent requests per mailbox, even from several transports', async () => {
    fake.setLatency(80);
    try {
      const transports = [createGraphTransport(config(), runtime), createGraphTransport(config(), runtime)];
      const before = fake.requests.length;
      await Promise.all(
        Array.from({ length: 14 }, (_x, i) => transports[i % 2].send({ from: { address: ANNA }, to: [{ address: BOB }], subject: `burst ${i}`, text: 'x' })),
      );
      const burst = fake.requests.slice(before).filter((r) => r.path.endsWith('/sendMail'));
      expect(burst).toHaveLength(14);
      expect(burst.every((r) => r.status === 202)).toBe(true);
      expect(Math.max(...burst.map((r) => r.inFlight ?? 0))).toBeLessThanOrEqual(4);
      expect(Math.max(...burst.map((r) => r.inFlight ?? 0))).toBeGreaterThan(1);
    } finally {
      fake.setLatency(0);
    }
  });
});
