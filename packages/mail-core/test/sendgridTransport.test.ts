import { inspect } from 'node:util';
import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import type { OutgoingMessage } from '@mailbridge/mail-core';
import { freePort } from '@mailbridge/mail-testkit';
// the fakes are not wired into the testkit's index yet
import { FAKE_SENDGRID_KEYS, startFakeSendGrid, type FakeSendGrid } from '../../mail-testkit/src/fakes/sendgrid';
import {
  createSendGridTransport,
  testSendGridConnection,
  type SendGridAccountConfig,
  type SendGridTransport,
  type SendGridTransportOptions,
} from '../src/providers/sendgrid';
import { expectMailError } from './helpers';

const KEY = FAKE_SENDGRID_KEYS.full.key;
let sg: FakeSendGrid;

beforeEach(async () => {
  sg = await startFakeSendGrid({ verifiedSenders: ['sender.test'] });
});
afterEach(() => sg.close());

function config(patch: Partial<SendGridAccountConfig> = {}): SendGridAccountConfig {
  return { provider: 'sendgrid', address: 'anna@sender.test', apiKey: KEY, baseUrl: sg.baseUrl, ...patch };
}

function transport(patch: Partial<SendGridAccountConfig> = {}, opts: SendGridTransportOptions = { retry: { baseDelayMs: 1, maxDelayMs: 3_000 } }): SendGridTransport {
  return createSendGridTransport(config(patch), opts);
}

const message = (patch: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  from: { name: 'Anna Sender', address: 'anna@sender.test' },
  to: [{ name: 'Bob', address: 'bob@rcpt.test' }],
  subject: 'Angebot',
  text: 'Hallo Bob',
  ...patch,
});

const many = (n: number, prefix = 'r') => Array.from({ length: n }, (_, i) => ({ address: `${prefix}${i}@rcpt.test` }));

describe('SendGrid transport → fake SendGrid', () => {
  test('text + html + attachments + categories pass the schema; threading headers, custom_args and X-Message-Id come through', async () => {
    const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 13 + 5) % 256));
    const logo = Buffer.from('\x89PNG fake image', 'latin1');
    const result = await transport({ categories: ['mailbridge', 'case-mail'] }).send(
      message({
        from: { name: 'Vertrieb', address: 'sales@sender.test' },
        sender: { name: 'Anna Sender', address: 'anna@sender.test' },
        cc: [{ address: 'carol@rcpt.test' }],
        bcc: [{ address: 'hidden@rcpt.test' }],
        replyTo: [{ name: 'Support', address: 'support@sender.test' }],
        subject: 'Re: Angebot 4711 – Grüße',
        text: 'Hallo Bob,\nanbei.',
        html: '<p>Hallo Bob, <img src="cid:logo@mb"></p>',
        inReplyTo: 'orig-1@rcpt.test',
        references: ['<root@rcpt.test>', '<orig-1@rcpt.test>'],
        messageId: '<fixed-id-1@sender.test>',
        headers: { 'X-Mailbridge-Case': 'V-2024-17', 'X-Kunde': 'Müller & Söhne' },
        attachments: [
          { filename: 'daten.bin', content: binary },
          { filename: 'Umsätze.csv', contentType: 'text/csv', content: Readable.from([Buffer.from('a;b\n'), Buffer.from('1;2\n')]) },
          { filename: 'logo.png', contentType: 'image/png', content: logo, cid: 'logo@mb' },
        ],
      }),
      { outboxId: 17 },
    );
    expect(sg.requests).toHaveLength(1);
    const [req] = sg.requests;
    expect(result.providerMessageId).toBe(req.messageId);
    expect(result.messageId).toBe('<fixed-id-1@sender.test>');
    expect(result.accepted).toEqual(['bob@rcpt.test', 'carol@rcpt.test', 'hidden@rcpt.test']);
    expect(result.rejected).toEqual([]);

    const body = req.body;
    expect(body.personalizations).toEqual([
      { to: [{ email: 'bob@rcpt.test', name: 'Bob' }], cc: [{ email: 'carol@rcpt.test' }], bcc: [{ email: 'hidden@rcpt.test' }] },
    ]);
    expect(body.from).toEqual({ email: 'sales@sender.test', name: 'Vertrieb' });
    expect(body.reply_to).toEqual({ email: 'support@sender.test', name: 'Support' });
    expect(body.content.map((c: { type: string }) => c.type)).toEqual(['text/plain', 'text/html']);
    expect(body.categories).toEqual(['mailbridge', 'case-mail']);
    expect(body.custom_args).toEqual({ mailbridge_outbox_id: '17' });
    expect(body.headers).toMatchObject({
      'Message-ID': '<fixed-id-1@sender.test>',
      'In-Reply-To': '<orig-1@rcpt.test>',
      References: '<root@rcpt.test> <orig-1@rcpt.test>',
      'X-Mailbridge-Case': 'V-2024-17',
      Sender: '"Anna Sender" <anna@sender.test>',
    });
    expect(body.headers['X-Kunde']).toMatch(/^=\?UTF-8\?B\?/);
    expect(body.attachments).toEqual([
      { content: binary.toString('base64'), filename: 'daten.bin', type: 'application/octet-stream', disposition: 'attachment' },
      { content: Buffer.from('a;b\n1;2\n').toString('base64'), filename: 'Umsätze.csv', type: 'text/csv', disposition: 'attachment' },
      { content: logo.toString('base64'), filename: 'logo.png', type: 'image/png', disposition: 'inline', content_id: 'logo@mb' },
    ]);

    // what SendGrid would deliver threads with our ids
    const parsed = await simpleParser(req.rendered[0].raw);
    expect(parsed.messageId).toBe(result.messageId);
    expect(parsed.inReplyTo).toBe('<orig-1@rcpt.test>');
    expect(parsed.references).toEqual(['<root@rcpt.test>', '<orig-1@rcpt.test>']);
    expect(parsed.subject).toBe('Re: Angebot 4711 – Grüße');
    // a custom header: stays an RFC 2047 encoded-word, which decodes to the original
    const kunde = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=$/.exec(String(parsed.headers.get('x-kunde')));
    expect(Buffer.from(kunde![1], 'base64').toString('utf8')).toBe('Müller & Söhne');
    expect(parsed.attachments.find((a) => a.filename === 'daten.bin')!.content.equals(binary)).toBe(true);
  });

  test('a message without explicit Message-ID gets one generated, and it is the one SendGrid is given', async () => {
    const result = await transport().send(message());
    expect(result.messageId).toMatch(/^<[0-9a-f-]{36}@sender\.test>$/);
    expect(sg.requests[0].body.headers['Message-ID']).toBe(result.messageId);
  });

  test('1,500 recipients are split into 2 requests of at most 1000, everyone exactly once', async () => {
    const result = await transport().send(message({ to: many(1200, 'to'), bcc: many(300, 'bcc') }));
    expect(sg.requests).toHaveLength(2);
    expect(sg.requests.map((r) => r.recipients.length)).toEqual([1000, 500]);
    const all = sg.requests.flatMap((r) => r.recipients);
    expect(new Set(all).size).toBe(1500);
    expect(result.accepted).toHaveLength(1500);
    expect(result.requests.map((r) => r.providerMessageId)).toEqual(sg.requests.map((r) => r.messageId));
    expect(result.providerMessageId).toBe(sg.requests[0].messageId);
    // the same Message-ID on both halves: one message
    expect(sg.requests[1].body.headers['Message-ID']).toBe(result.messageId);
    expect(sg.requests[1].body.personalizations).toHaveLength(1);
    expect(sg.requests[1].body.personalizations[0].to).toHaveLength(200);
    expect(sg.requests[1].body.personalizations[0].bcc).toHaveLength(300);
  });

  test('a group of Bcc recipients only gets one personalization per recipient (SendGrid needs a to)', async () => {
    await transport().send(message({ to: [], bcc: many(3, 'b') }));
    expect(sg.requests[0].body.personalizations).toEqual([
      { to: [{ email: 'b0@rcpt.test' }] },
      { to: [{ email: 'b1@rcpt.test' }] },
      { to: [{ email: 'b2@rcpt.test' }] },
    ]);
  });

  test('duplicates across To/Cc/Bcc are sent once (SendGrid would refuse them)', async () => {
    await transport().send(message({ cc: [{ address: 'BOB@rcpt.test' }, { address: 'carol@rcpt.test' }], bcc: [{ address: 'carol@rcpt.test' }] }));
    expect(sg.requests[0].recipients).toEqual(['bob@rcpt.test', 'carol@rcpt.test']);
  });

  test('429 then success: sent exactly once', async () => {
    sg.throttleNext(1, { resetInSeconds: 0 });
    const result = await transport().send(message());
    expect(sg.log.map((l) => l.status)).toEqual([429, 202]);
    expect(sg.requests).toHaveLength(1);
    expect(result.providerMessageId).toBe(sg.requests[0].messageId);
  });

  test('429 honours Retry-After / X-RateLimit-Reset: a reset later than the transport waits → RATE_LIMITED with retryAfterMs', async () => {
    sg.throttleNext(1, { retryAfterSeconds: 0, resetInSeconds: 0 });
    await transport().send(message());
    expect(sg.log.map((l) => l.status)).toEqual([429, 202]);

    sg.throttleNext(1, { resetInSeconds: 120 });
    const err = await expectMailError(transport().send(message()), 'RATE_LIMITED');
    expect(err.retryable).toBe(true);
    const retryAfterMs = (err as unknown as { retryAfterMs: number }).retryAfterMs;
    expect(retryAfterMs).toBeGreaterThan(100_000);
    expect(retryAfterMs).toBeLessThanOrEqual(120_000);
    expect(sg.log.map((l) => l.status)).toEqual([429, 202, 429]);
  });

  test('throttled more often than the retries allow → RATE_LIMITED, nothing sent', async () => {
    sg.throttleNext(5, { resetInSeconds: 0 });
    await expectMailError(transport({}, { retry: { maxRetries: 2, baseDelayMs: 1 } }).send(message()), 'RATE_LIMITED');
    expect(sg.log.map((l) => l.status)).toEqual([429, 429, 429]);
    expect(sg.requests).toHaveLength(0);
  });

  test('CR/LF in the subject (or a header) is refused before any request', async () => {
    await expectMailError(transport().send(message({ subject: 'Hi\r\nBcc: victim@evil.test' })), 'INVALID_HEADER');
    await expectMailError(transport().send(message({ headers: { 'X-Tag': 'ok\nBcc: victim@evil.test' } })), 'INVALID_HEADER');
    expect(sg.log).toHaveLength(0);
  });

  test('a header SendGrid reserves is refused before any request', async () => {
    const err = await expectMailError(transport().send(message({ headers: { 'Reply-To': 'x@y.test' } })), 'INVALID_HEADER');
    expect(err.hint).toMatch(/SendGrid sets Reply-To itself/);
    expect(sg.log).toHaveLength(0);
  });

  test('401 → AUTH_FAILED with the Mail Send hint; the key is not in the error', async () => {
    const badKey = 'SG.this-key-does-not-exist.0123456789';
    const err = await expectMailError(transport({ apiKey: badKey }).send(message()), 'AUTH_FAILED');
    expect(err.hint).toBe('Check the API key; it needs the Mail Send permission (SendGrid → Settings → API Keys → Mail Send: Full Access).');
    expect(err.message).toMatch(/HTTP 401.*authorization grant is invalid/);
    for (const text of [err.message, err.hint, JSON.stringify(err), inspect(err, { depth: 8 })]) expect(text).not.toContain(badKey);
  });

  test('error bodies become typed MailErrors', async () => {
    const t = transport();
    sg.failNext({ status: 400, errors: [{ field: 'personalizations.0.to.0.email', message: 'Does not contain a valid address.' }] });
    const bad = await expectMailError(t.send(message()), 'PROVIDER_ERROR');
    expect(bad.retryable).toBe(false);
    expect(bad.message).toContain('Does not contain a valid address. (field personalizations.0.to.0.email)');
    expect(bad.hint).toMatch(/^SendGrid refused the message: Does not contain a valid address/);

    sg.failNext({ status: 413, errors: [{ message: 'Payload Too Large' }] });
    const large = await expectMailError(t.send(message()), 'PROVIDER_ERROR');
    expect(large.retryable).toBe(false);
    expect(large.hint).toMatch(/too large/);

    sg.failNext({ status: 403, errors: [{ message: 'access forbidden' }] });
    await expectMailError(t.send(message()), 'AUTH_FAILED');

    sg.failNext({ status: 503, errors: [{ message: 'Service Unavailable' }] });
    expect((await expectMailError(t.send(message()), 'PROVIDER_ERROR')).retryable).toBe(true);

    const sender = await expectMailError(t.send(message({ from: { address: 'x@unverified.test' } })), 'PROVIDER_ERROR');
    expect(sender.retryable).toBe(false);
    expect(sender.hint).toMatch(/not a verified Sender Identity/);
    expect(sg.requests).toHaveLength(0);
  });

  test('when a later request fails, the accepted one is reported and not resent', async () => {
    sg.failNext({ status: 500, errors: [{ message: 'boom' }] }, 1, { afterPassing: 1 });
    const result = await transport().send(message({ to: many(1500) }));
    expect(sg.requests).toHaveLength(1);
    expect(result.accepted).toHaveLength(1000);
    expect(result.rejected).toHaveLength(500);
    expect(result.failures[0].error.code).toBe('PROVIDER_ERROR');
  });

  test('a cancelled send → ABORTED, nothing sent', async () => {
    const controller = new AbortController();
    controller.abort();
    await expectMailError(transport().send(message(), { signal: controller.signal }), 'ABORTED');
    expect(sg.requests).toHaveLength(0);
  });

  test('an unreachable API → HOST_UNREACHABLE', async () => {
    const port = await freePort();
    const err = await expectMailError(transport({ baseUrl: `http://127.0.0.1:${port}` }).send(message()), 'HOST_UNREACHABLE');
    expect(err.retryable).toBe(true);
  });

  test('invalid settings are refused', () => {
    expect(() => createSendGridTransport(config({ apiKey: '' }))).toThrow(/API key/);
    expect(() => createSendGridTransport(config({ categories: Array.from({ length: 11 }, (_, i) => `c${i}`) }))).toThrow(/at most 10/);
  });
});

describe('verify and testSendGridConnection (GET /v3/scopes)', () => {
  test('a key with mail.send passes', async () => {
    await transport().verify();
    const result = await testSendGridConnection(config());
    expect(result).toMatchObject({ ok: true, steps: [{ name: 'sendgrid', ok: true, scopes: expect.arrayContaining(['mail.send']) }] });
    expect(sg.log.every((l) => l.path === '/v3/scopes' && l.status === 200)).toBe(true);
  });

  test('a key without mail.send fails with the hint', async () => {
    const readOnly = config({ apiKey: FAKE_SENDGRID_KEYS.readOnly.key });
    const err = await expectMailError(createSendGridTransport(readOnly).verify(), 'AUTH_FAILED');
    expect(err.message).toMatch(/does not have the Mail Send permission/);
    expect(err.hint).toMatch(/needs the Mail Send permission/);
    const result = await testSendGridConnection(readOnly);
    expect(result.ok).toBe(false);
    expect(result.steps[0]).toMatchObject({ ok: false, scopes: FAKE_SENDGRID_KEYS.readOnly.scopes, error: { code: 'AUTH_FAILED' } });
    // and sending with it is refused by SendGrid the same way
    await expectMailError(createSendGridTransport(readOnly).send(message()), 'AUTH_FAILED');
  });

  test('a wrong key fails with 401 → AUTH_FAILED', async () => {
    const result = await testSendGridConnection(config({ apiKey: 'SG.wrong' }));
    expect(result.steps[0].error).toMatchObject({ code: 'AUTH_FAILED' });
    expect(JSON.stringify(result)).not.toContain('SG.wrong');
  });
});
