import { inspect } from 'node:util';
import { Readable } from 'node:stream';
import { simpleParser, type AddressObject } from 'mailparser';
import { createSource, type MailSource, type OutgoingMessage } from '@mailbridge/mail-core';
import { dovecotBinary, freePort, startDovecot, type Dovecot } from '@mailbridge/mail-testkit';
// the fakes are not wired into the testkit's index yet
import { FAKE_SES_CREDENTIALS, startFakeSes, type FakeSes } from '../../mail-testkit/src/fakes/ses';
import {
  createSesTransport,
  sesHeaderMessageId,
  sesMessageIdDomain,
  testSesConnection,
  type SesAccountConfig,
  type SesTransport,
} from '../src/providers/ses';
import { ALICE, FolderStore, expectMailError } from './helpers';

const REGION = 'eu-central-1';
const SECRET = FAKE_SES_CREDENTIALS.secretAccessKey;

let ses: FakeSes;
const open: SesTransport[] = [];

beforeEach(async () => {
  ses = await startFakeSes({ region: REGION });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  await ses.close();
});

function config(patch: Partial<SesAccountConfig> = {}): SesAccountConfig {
  return {
    provider: 'ses',
    address: 'anna@sender.test',
    region: REGION,
    accessKeyId: FAKE_SES_CREDENTIALS.accessKeyId,
    secretAccessKey: SECRET,
    endpoint: ses.endpoint,
    ...patch,
  };
}

function transport(patch: Partial<SesAccountConfig> = {}, retry = { baseDelayMs: 1, maxDelayMs: 2_000 }): SesTransport {
  const t = createSesTransport(config(patch), { retry });
  open.push(t);
  return t;
}

const message = (patch: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  from: { name: 'Anna Sender', address: 'anna@sender.test' },
  to: [{ name: 'Bob', address: 'bob@rcpt.test' }],
  subject: 'Angebot',
  text: 'Hallo Bob',
  ...patch,
});

const addresses = (a: AddressObject | AddressObject[] | undefined) => (Array.isArray(a) ? a : a ? [a] : []).flatMap((o) => o.value.map((v) => v.address));

describe('SES rules', () => {
  test('Message-ID domain: email.amazonses.com in us-east-1, <region>.amazonses.com elsewhere', () => {
    expect(sesMessageIdDomain('us-east-1')).toBe('email.amazonses.com');
    expect(sesMessageIdDomain('eu-west-1')).toBe('eu-west-1.amazonses.com');
    expect(sesHeaderMessageId('0100018f-abc-000000', 'us-east-1')).toBe('<0100018f-abc-000000@email.amazonses.com>');
    expect(sesHeaderMessageId('0107018f-abc-000000', 'eu-central-1')).toBe('<0107018f-abc-000000@eu-central-1.amazonses.com>');
    expect(sesHeaderMessageId('<already@some.host>', 'eu-central-1')).toBe('<already@some.host>');
  });

  test('invalid settings are refused before any request', () => {
    expect(() => createSesTransport(config({ region: 'Frankfurt' }))).toThrow(/AWS region/);
    expect(() => createSesTransport(config({ maxRecipientsPerMessage: 51 }))).toThrow(/1–50/);
    expect(() => createSesTransport(config({ secretAccessKey: '' }))).toThrow(/secret access key/);
    expect(ses.log).toHaveLength(0);
  });
});

describe('SES transport → fake SES', () => {
  test('attachment, In-Reply-To/References, alias and Bcc arrive as raw MIME; the result carries the Message-ID SES gave', async () => {
    const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) % 256));
    const csv = ['Datum;Betrag\n', '01.02.2024;100,00 €\n'];
    const result = await transport().send(
      message({
        from: { name: 'Vertrieb', address: 'sales@sender.test' },
        sender: { name: 'Anna Sender', address: 'anna@sender.test' },
        cc: [{ address: 'carol@rcpt.test' }],
        bcc: [{ address: 'hidden@rcpt.test' }],
        subject: 'Re: Angebot 4711 – Grüße',
        text: 'Hallo Bob,\nanbei.\n.Punkt am Zeilenanfang',
        html: '<p>Hallo Bob, <b>anbei</b>.</p>',
        inReplyTo: '<orig-1@rcpt.test>',
        references: ['<root@rcpt.test>', 'orig-1@rcpt.test'],
        attachments: [
          { filename: 'daten.bin', contentType: 'application/octet-stream', content: binary },
          { filename: 'Umsätze.csv', contentType: 'text/csv', content: Readable.from(csv.map((c) => Buffer.from(c))) },
        ],
        headers: { 'X-Mailbridge-Case': 'V-2024-17' },
      }),
      { outboxId: 'ob-17' },
    );
    expect(ses.messages).toHaveLength(1);
    const got = ses.messages[0];
    expect(result.providerMessageId).toBe(got.messageId);
    expect(result.messageId).toBe(`<${got.messageId}@${REGION}.amazonses.com>`);
    expect(result.messageId).toBe(got.headerMessageId);
    expect(result.accepted.sort()).toEqual(['bob@rcpt.test', 'carol@rcpt.test', 'hidden@rcpt.test']);
    expect(result.rejected).toEqual([]);
    expect(result.deliveries).toHaveLength(1);

    // the envelope: the account sends, Bcc only here
    expect(got.fromEmailAddress).toBe('anna@sender.test');
    expect(got.destination).toEqual({ to: ['bob@rcpt.test'], cc: ['carol@rcpt.test'], bcc: ['hidden@rcpt.test'] });
    expect(got.tags).toEqual({ 'mailbridge-outbox-id': 'ob-17' });

    const rawText = got.raw.toString('latin1');
    expect(rawText).not.toMatch(/^Bcc:/im);
    expect(rawText).not.toContain('hidden@rcpt.test');
    const parsed = await simpleParser(got.raw);
    expect(parsed.from?.value).toEqual([{ name: 'Vertrieb', address: 'sales@sender.test' }]);
    expect(parsed.headers.get('sender')).toMatchObject({ value: [{ name: 'Anna Sender', address: 'anna@sender.test' }] });
    expect(addresses(parsed.to)).toEqual(['bob@rcpt.test']);
    expect(addresses(parsed.cc)).toEqual(['carol@rcpt.test']);
    expect(parsed.subject).toBe('Re: Angebot 4711 – Grüße');
    expect(parsed.inReplyTo).toBe('<orig-1@rcpt.test>');
    expect(parsed.references).toEqual(['<root@rcpt.test>', '<orig-1@rcpt.test>']);
    expect(parsed.headers.get('x-mailbridge-case')).toBe('V-2024-17');
    expect(parsed.text).toBe('Hallo Bob,\nanbei.\n.Punkt am Zeilenanfang');
    expect(parsed.html).toBe('<p>Hallo Bob, <b>anbei</b>.</p>');
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['daten.bin', 'Umsätze.csv']);
    expect(parsed.attachments[0].content.equals(binary)).toBe(true);
    expect(parsed.attachments[1].content.toString('utf8')).toBe(csv.join(''));

    // what recipients get carries SES's Message-ID, the rest unchanged
    const delivered = await simpleParser(got.delivered);
    expect(delivered.messageId).toBe(result.messageId);
    expect(got.delivered.subarray(got.delivered.indexOf('\r\n\r\n')).equals(got.raw.subarray(got.raw.indexOf('\r\n\r\n')))).toBe(true);
  });

  test('us-east-1 results end in @email.amazonses.com', async () => {
    const east = await startFakeSes({ region: 'us-east-1' });
    try {
      const t = transport({ region: 'us-east-1', endpoint: east.endpoint });
      const result = await t.send(message());
      expect(result.messageId).toBe(`<${east.messages[0].messageId}@email.amazonses.com>`);
    } finally {
      await east.close();
    }
  });

  test('a wrong secret key → AUTH_FAILED naming the IAM permissions; the fake saw a bad signature; the secret is nowhere in the error', async () => {
    const wrongSecret = 'WRONG/secret+key0000000000000000000000001';
    const err = await expectMailError(transport({ secretAccessKey: wrongSecret }).send(message()), 'AUTH_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.hint).toMatch(/ses:SendEmail and ses:SendRawEmail/);
    expect(err.message).toMatch(/SignatureDoesNotMatch/);
    expect(ses.log).toHaveLength(1);
    expect(ses.log[0]).toMatchObject({ operation: 'SendEmail', status: 403, signature: 'mismatch', errorType: 'SignatureDoesNotMatch' });
    expect(ses.messages).toHaveLength(0);
    for (const text of [err.message, err.hint, JSON.stringify(err), inspect(err, { depth: 8, showHidden: true })]) {
      expect(text).not.toContain(wrongSecret);
      expect(text).not.toContain(SECRET);
    }
  });

  test('an unknown access key → AUTH_FAILED too', async () => {
    await expectMailError(transport({ accessKeyId: 'AKIANOTKNOWN0000' }).send(message()), 'AUTH_FAILED');
    expect(ses.log[0].signature).toBe('unknown-key');
  });

  test('120 recipients go out in 3 calls of at most 50, everyone exactly once, To and Cc visible in every copy', async () => {
    const to = Array.from({ length: 40 }, (_, i) => ({ address: `to${i}@rcpt.test` }));
    const cc = Array.from({ length: 30 }, (_, i) => ({ address: `cc${i}@rcpt.test` }));
    const bcc = Array.from({ length: 50 }, (_, i) => ({ address: `bcc${i}@rcpt.test` }));
    // a duplicate in another field counts once
    const result = await transport().send(message({ to, cc: [...cc, { address: 'TO0@rcpt.test' }], bcc }));
    expect(ses.messages).toHaveLength(3);
    expect(ses.messages.map((m) => m.recipients.length)).toEqual([50, 50, 20]);
    const all = ses.messages.flatMap((m) => m.recipients);
    expect(all).toHaveLength(120);
    expect(new Set(all.map((a) => a.toLowerCase())).size).toBe(120);
    expect(result.accepted).toHaveLength(120);
    expect(result.deliveries.map((d) => d.recipients.length)).toEqual([50, 50, 20]);
    expect(result.deliveries.map((d) => d.providerMessageId)).toEqual(ses.messages.map((m) => m.messageId));
    expect(result.providerMessageId).toBe(ses.messages[0].messageId);
    // the same MIME every time: all To and Cc in the headers, no Bcc
    for (const m of ses.messages) expect(m.raw.equals(ses.messages[0].raw)).toBe(true);
    const parsed = await simpleParser(ses.messages[0].raw);
    expect(addresses(parsed.to)).toHaveLength(40);
    // the header shows what was written (the duplicate too); the envelope has it once
    expect(addresses(parsed.cc)).toHaveLength(31);
    expect(ses.messages[0].raw.toString('latin1')).not.toMatch(/bcc\d+@rcpt\.test/);
    // the envelope keeps the roles
    expect(ses.messages[0].destination).toEqual({ to: to.map((a) => a.address), cc: cc.slice(0, 10).map((a) => a.address), bcc: [] });
    expect(ses.messages[1].destination).toEqual({ to: [], cc: cc.slice(10).map((a) => a.address), bcc: bcc.slice(0, 30).map((a) => a.address) });
    expect(ses.messages[2].destination).toEqual({ to: [], cc: [], bcc: bcc.slice(30).map((a) => a.address) });
  });

  test('a smaller maxRecipientsPerMessage splits accordingly', async () => {
    const to = Array.from({ length: 7 }, (_, i) => ({ address: `r${i}@rcpt.test` }));
    await transport({ maxRecipientsPerMessage: 3 }).send(message({ to }));
    expect(ses.messages.map((m) => m.recipients.length)).toEqual([3, 3, 1]);
  });

  test('429 then success: sent exactly once', async () => {
    ses.throttleNext(1);
    const result = await transport().send(message());
    expect(ses.messages).toHaveLength(1);
    expect(result.providerMessageId).toBe(ses.messages[0].messageId);
    expect(ses.log.map((l) => l.status)).toEqual([429, 200]);
  });

  test('Retry-After is honoured; one longer than the transport waits fails at once with RATE_LIMITED and retryAfterMs', async () => {
    ses.throttleNext(1, { retryAfterSeconds: 0 });
    await transport().send(message());
    expect(ses.log.map((l) => l.status)).toEqual([429, 200]);

    ses.throttleNext(1, { retryAfterSeconds: 120 });
    const err = await expectMailError(transport().send(message()), 'RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect((err as unknown as { retryAfterMs: number }).retryAfterMs).toBe(120_000);
    expect(ses.log.map((l) => l.status)).toEqual([429, 200, 429]);
    expect(ses.messages).toHaveLength(1);
  });

  test('throttled more often than the retries allow → RATE_LIMITED, nothing sent', async () => {
    ses.throttleNext(5);
    const err = await expectMailError(createSesTransport(config(), { retry: { maxRetries: 2, baseDelayMs: 1 } }).send(message()), 'RATE_LIMITED');
    expect(err.hint).toMatch(/send rate/);
    expect(ses.log.map((l) => l.status)).toEqual([429, 429, 429]);
    expect(ses.messages).toHaveLength(0);
  });

  test('CR/LF in the subject is refused before anything is sent', async () => {
    await expectMailError(transport().send(message({ subject: 'Hi\r\nBcc: victim@evil.test' })), 'INVALID_HEADER');
    await expectMailError(transport().send(message({ headers: { 'X-Tag': 'a\nb' } })), 'INVALID_HEADER');
    expect(ses.log).toHaveLength(0);
  });

  test('SES errors become typed MailErrors with hints', async () => {
    const t = transport({ configurationSetName: 'events' });
    const cases: Array<[Parameters<FakeSes['failNext']>[0], string, RegExp, boolean]> = [
      [{ errorType: 'MessageRejected', message: 'Illegal attachment type.' }, 'PROVIDER_ERROR', /refused the message/, false],
      [{ errorType: 'MailFromDomainNotVerifiedException', message: 'MAIL FROM domain not verified' }, 'PROVIDER_ERROR', /MAIL FROM domain/, false],
      [{ errorType: 'AccountSuspendedException', message: 'suspended' }, 'PROVIDER_ERROR', /suspended sending/, false],
      [{ errorType: 'SendingPausedException', message: 'paused' }, 'PROVIDER_ERROR', /configuration set "events"/, false],
      [{ errorType: 'LimitExceededException', message: 'Daily message quota exceeded.' }, 'RATE_LIMITED', /sending quota/, true],
      [{ status: 404, errorType: 'NotFoundException', message: 'Configuration set <events> does not exist.' }, 'PROVIDER_ERROR', /configuration set name/, false],
      [{ status: 403, errorType: 'AccessDeniedException', message: 'not authorized to perform ses:SendRawEmail' }, 'AUTH_FAILED', /IAM policy/, false],
      [{ status: 400, errorType: 'ThrottlingException', message: 'Maximum sending rate exceeded.' }, 'RATE_LIMITED', /send rate/, true],
      [{ status: 500, errorType: 'InternalFailure', message: 'oops' }, 'PROVIDER_ERROR', /temporary/, true],
    ];
    for (const [failure, code, hint, retryable] of cases) {
      // ThrottlingException is retried inside the send: make every attempt fail
      ses.failNext(failure, failure.errorType === 'ThrottlingException' ? 4 : 1);
      const err = await expectMailError(t.send(message()), code);
      expect([failure.errorType, err.hint]).toEqual([failure.errorType, expect.stringMatching(hint)]);
      expect(err.retryable).toBe(retryable);
    }
    expect(ses.messages).toHaveLength(0);
  });

  test('sandbox: an unverified recipient → RECIPIENT_REJECTED naming it; an unverified sender → PROVIDER_ERROR', async () => {
    ses.configure({ sandbox: true, verifiedIdentities: ['sender.test', 'bob@rcpt.test'] });
    const err = await expectMailError(transport().send(message({ cc: [{ address: 'stranger@rcpt.test' }] })), 'RECIPIENT_REJECTED');
    expect((err as unknown as { rejected: string[] }).rejected).toEqual(['stranger@rcpt.test']);
    expect(err.hint).toMatch(/sandbox/);
    const sender = await expectMailError(transport({ address: 'x@unverified.test' }).send(message({ from: { address: 'x@unverified.test' } })), 'PROVIDER_ERROR');
    expect(sender.hint).toMatch(/x@unverified\.test is not a verified identity in eu-central-1/);
  });

  test('when a later group is refused, the sent groups are reported and not resent', async () => {
    // group 2 (recipients 50–99) holds one unverified address; groups 1 and 3 go out
    ses.configure({ sandbox: true, verifiedIdentities: ['sender.test', 'rcpt.test'] });
    const to = Array.from({ length: 120 }, (_, i) => ({ address: i === 70 ? 'nope@elsewhere.test' : `r${i}@rcpt.test` }));
    const result = await transport().send(message({ to }));
    expect(ses.messages.map((m) => m.recipients.length)).toEqual([50, 20]);
    expect(result.accepted).toHaveLength(70);
    expect(result.rejected).toHaveLength(50);
    expect(result.rejected).toContain('nope@elsewhere.test');
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0].error.code).toBe('RECIPIENT_REJECTED');
  });

  test('a cancelled send → ABORTED, nothing sent', async () => {
    const controller = new AbortController();
    controller.abort();
    await expectMailError(transport().send(message(), { signal: controller.signal }), 'ABORTED');
    expect(ses.messages).toHaveLength(0);
  });

  test('an unreachable endpoint → HOST_UNREACHABLE', async () => {
    const port = await freePort();
    const err = await expectMailError(transport({ endpoint: `http://127.0.0.1:${port}` }).send(message()), 'HOST_UNREACHABLE');
    expect(err.retryable).toBe(true);
    expect(err.hint).toMatch(/Could not reach Amazon SES/);
  });
});

describe('verify and testSesConnection (GetAccount)', () => {
  test('valid key: ok, with a readable account summary', async () => {
    await transport().verify();
    const result = await testSesConnection(config());
    expect(result.ok).toBe(true);
    expect(result.steps).toHaveLength(1);
    expect(result.steps[0]).toMatchObject({ name: 'ses', ok: true, account: { sendingEnabled: true, productionAccess: true } });
    expect(result.steps[0].account!.summary).toMatch(/^Sending is enabled in eu-central-1\. Quota: \d+ of 50000/);
    expect(ses.log.every((l) => l.operation === 'GetAccount' && l.signature === 'valid')).toBe(true);
  });

  test('sandbox accounts pass and say so', async () => {
    ses.configure({ sandbox: true });
    const result = await testSesConnection(config());
    expect(result.ok).toBe(true);
    expect(result.steps[0].account).toMatchObject({ productionAccess: false });
    expect(result.steps[0].account!.summary).toMatch(/sandbox/);
  });

  test('a wrong key fails with AUTH_FAILED and a hint; the secret is not in the result', async () => {
    const wrong = config({ secretAccessKey: 'another/wrong+secret0000000000000000000' });
    await expectMailError(createSesTransport(wrong).verify(), 'AUTH_FAILED');
    const result = await testSesConnection(wrong);
    expect(result.ok).toBe(false);
    expect(result.steps[0].error).toMatchObject({ code: 'AUTH_FAILED', hint: expect.stringMatching(/ses:GetAccount/) });
    expect(JSON.stringify(result)).not.toContain('another/wrong+secret');
    expect(ses.log.map((l) => l.signature)).toEqual(['mismatch', 'mismatch']);
  });

  test('an account with sending disabled fails verify', async () => {
    ses.configure({ sendingEnabled: false });
    const result = await testSesConnection(config());
    expect(result.ok).toBe(false);
    expect(result.steps[0].account).toMatchObject({ sendingEnabled: false });
    expect(result.steps[0].error).toMatchObject({ code: 'PROVIDER_ERROR', hint: expect.stringMatching(/Resume sending/) });
  });

  test('invalid settings fail the test without a request', async () => {
    const result = await testSesConnection(config({ region: 'nowhere' }));
    expect(result.ok).toBe(false);
    expect(result.steps[0].error!.message).toMatch(/AWS region/);
    expect(ses.log).toHaveLength(0);
  });
});

(dovecotBinary() ? describe : describe.skip)('SES transport → fake SES → dovecot → IMAP source', () => {
  let dc: Dovecot;
  let sesDc: FakeSes;
  let src: MailSource | undefined;
  beforeAll(async () => {
    dc = await startDovecot({ users: [ALICE] });
    sesDc = await startFakeSes({ region: 'eu-west-1', deliver: (rcpt, raw) => dc.deliver(rcpt, raw) });
  });
  afterAll(async () => {
    await src?.close();
    await sesDc?.close();
    await dc?.destroy();
  });

  test('the synced message has the Message-ID the transport returned, so replies thread', async () => {
    const t = createSesTransport({ ...config(), region: 'eu-west-1', endpoint: sesDc.endpoint });
    const result = await t.send(message({ to: [{ address: ALICE.user }], inReplyTo: '<earlier@rcpt.test>', attachments: [{ filename: 'a.txt', content: 'hello' }] }));
    await t.close();
    src = createSource({
      provider: 'smtp-imap',
      address: ALICE.user,
      smtp: { host: dc.host, port: 1, security: 'none' },
      imap: { host: dc.host, port: dc.imapPort, security: 'none' },
      auth: { method: 'password', password: ALICE.password },
    });
    const store = new FolderStore();
    await store.sync(src, 'INBOX');
    const got = [...store.rows.values()];
    expect(got).toHaveLength(1);
    expect(got[0].messageId).toBe(result.messageId);
    expect(got[0].messageId).toMatch(/@eu-west-1\.amazonses\.com>$/);
    expect(got[0].inReplyTo).toBe('<earlier@rcpt.test>');
    expect(got[0].attachments.map((a) => a.filename)).toEqual(['a.txt']);
  });
});
