import { GetAccountCommand, SendEmailCommand, SESv2Client, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import MailComposer from 'nodemailer/lib/mail-composer';
import { dovecotBinary, startDovecot, type Dovecot } from '@mailbridge/mail-testkit';
import {
  buildCanonicalRequest,
  deriveSigningKey,
  FAKE_SES_CREDENTIALS,
  startFakeSes,
  verifySigV4,
  type FakeSes,
  type SigV4Credential,
} from '../src/fakes/ses';
import { ImapWire, login } from './imapWire';

function client(ses: FakeSes, overrides: { credentials?: SigV4Credential; region?: string; systemClockOffset?: number } = {}) {
  return new SESv2Client({
    region: overrides.region ?? ses.region,
    endpoint: ses.endpoint,
    credentials: overrides.credentials ?? FAKE_SES_CREDENTIALS,
    maxAttempts: 1,
    ...(overrides.systemClockOffset !== undefined ? { systemClockOffset: overrides.systemClockOffset } : {}),
  });
}

async function mime(opts: { from?: string; to?: string; cc?: string; bcc?: string; subject?: string } = {}): Promise<Buffer> {
  const node = new MailComposer({
    from: opts.from ?? 'Anna <anna@sender.test>',
    to: opts.to ?? 'bob@rcpt.test',
    cc: opts.cc,
    bcc: opts.bcc,
    subject: opts.subject ?? 'Hallo',
    text: 'body line\r\n.dot line\r\n',
    messageId: '<original-id@sender.test>',
  }).compile();
  node.keepBcc = !!opts.bcc;
  return node.build();
}

function sendInput(raw: Buffer, to: string[] = ['bob@rcpt.test'], extra: Partial<SendEmailCommandInput> = {}): SendEmailCommandInput {
  return { FromEmailAddress: 'anna@sender.test', Destination: { ToAddresses: to }, Content: { Raw: { Data: raw } }, ...extra };
}

async function caught(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('SigV4 verification', () => {
  test('derives the signing key of the AWS documentation example', () => {
    const key = deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam');
    expect(key.toString('hex')).toBe('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });

  test('accepts the get-vanilla request of the AWS SigV4 test suite and refuses it with one changed character', () => {
    const headers = {
      host: 'example.amazonaws.com',
      'x-amz-date': '20150830T123600Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    };
    const expectation = {
      region: 'us-east-1',
      service: 'service',
      lookup: (id: string) => (id === 'AKIDEXAMPLE' ? { accessKeyId: id, secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' } : undefined),
      now: () => Date.UTC(2015, 7, 30, 12, 36, 0),
    };
    const req = { method: 'GET', url: '/', headers, body: Buffer.alloc(0) };
    expect(buildCanonicalRequest(req, ['host', 'x-amz-date'], 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')).toBe(
      'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(verifySigV4(req, expectation)).toMatchObject({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
    const tampered = { ...req, url: '/?a=b' };
    expect(verifySigV4(tampered, expectation)).toMatchObject({ ok: false, errorType: 'SignatureDoesNotMatch', reason: 'mismatch' });
    expect(verifySigV4(req, { ...expectation, now: () => Date.UTC(2015, 7, 30, 12, 42, 0) })).toMatchObject({ ok: false, reason: 'expired' });
  });
});

describe('fake SES over the AWS SDK', () => {
  let ses: FakeSes;
  beforeEach(async () => {
    ses = await startFakeSes({ region: 'eu-central-1' });
  });
  afterEach(() => ses.close());

  test('accepts a signed raw SendEmail, keeps the raw bytes, delivers under its own Message-ID', async () => {
    const raw = await mime();
    const out = await client(ses).send(new SendEmailCommand(sendInput(raw, ['bob@rcpt.test'], { ConfigurationSetName: 'events', EmailTags: [{ Name: 'outbox', Value: '42' }] })));
    expect(out.MessageId).toMatch(/^[0-9a-f]{16}-[0-9a-f-]{36}-000000$/);
    expect(out.$metadata.requestId).toBeTruthy();
    const [m] = ses.messages;
    expect(m.messageId).toBe(out.MessageId);
    expect(m.raw.equals(raw)).toBe(true);
    expect(m.recipients).toEqual(['bob@rcpt.test']);
    expect(m.configurationSetName).toBe('events');
    expect(m.tags).toEqual({ outbox: '42' });
    expect(m.headerMessageId).toBe(`<${out.MessageId}@eu-central-1.amazonses.com>`);
    const delivered = m.delivered.toString();
    expect(delivered).toContain(`Message-ID: ${m.headerMessageId}\r\n`);
    expect(delivered).not.toContain('original-id@sender.test');
    // the body is untouched
    const body = (b: Buffer) => b.subarray(b.indexOf('\r\n\r\n'));
    expect(body(m.delivered).equals(body(raw))).toBe(true);
    expect(ses.log.at(-1)).toMatchObject({ operation: 'SendEmail', status: 200, signature: 'valid', accessKeyId: FAKE_SES_CREDENTIALS.accessKeyId });
  });

  test('us-east-1 Message-IDs end in email.amazonses.com', async () => {
    const east = await startFakeSes({ region: 'us-east-1' });
    try {
      const out = await client(east).send(new SendEmailCommand(sendInput(await mime())));
      expect(east.messages[0].headerMessageId).toBe(`<${out.MessageId}@email.amazonses.com>`);
    } finally {
      await east.close();
    }
  });

  test('a wrong secret key is refused with 403 SignatureDoesNotMatch in the AWS JSON error shape', async () => {
    const err = await caught(
      client(ses, { credentials: { accessKeyId: FAKE_SES_CREDENTIALS.accessKeyId, secretAccessKey: 'not-the-secret' } }).send(new SendEmailCommand(sendInput(await mime()))),
    );
    expect(err.name).toBe('SignatureDoesNotMatch');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.$response.headers['x-amzn-errortype']).toMatch(/^SignatureDoesNotMatch:/);
    expect(err.message).toMatch(/signature we calculated does not match/);
    expect(ses.messages).toHaveLength(0);
    expect(ses.log.at(-1)).toMatchObject({ status: 403, signature: 'mismatch', errorType: 'SignatureDoesNotMatch' });
  });

  test('an unknown access key, another region and a skewed clock are refused', async () => {
    const raw = await mime();
    const unknown = await caught(client(ses, { credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' } }).send(new SendEmailCommand(sendInput(raw))));
    expect(unknown.name).toBe('UnrecognizedClientException');
    const region = await caught(client(ses, { region: 'us-west-2' }).send(new SendEmailCommand(sendInput(raw))));
    expect(region.name).toBe('SignatureDoesNotMatch');
    expect(region.message).toMatch(/scoped to a valid region, not 'us-west-2'/);
    const skewed = await caught(client(ses, { systemClockOffset: -10 * 60_000 }).send(new SendEmailCommand(sendInput(raw))));
    expect(skewed.name).toBe('InvalidSignatureException');
    expect(skewed.message).toMatch(/^Signature expired/);
    expect(ses.log.map((l) => l.signature)).toEqual(['unknown-key', 'scope', 'expired']);
    expect(ses.messages).toHaveLength(0);
  });

  test('a body changed after signing is refused', async () => {
    const c = client(ses);
    // runs after the signer: the signature covers the original body
    c.middlewareStack.addRelativeTo(
      (next: any) => async (args: any) => {
        const body = args.request.body;
        const text = typeof body === 'string' ? body : new TextDecoder().decode(body as Uint8Array);
        args.request.body = text.replace('bob@rcpt.test', 'eve@rcpt.test');
        args.request.headers['content-length'] = String(Buffer.byteLength(args.request.body));
        return next(args);
      },
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'tamper', override: true },
    );
    const err = await caught(c.send(new SendEmailCommand(sendInput(await mime()))));
    expect(err.$metadata.httpStatusCode).toBeGreaterThanOrEqual(400);
    expect(['payload', 'mismatch']).toContain(ses.log.at(-1)!.signature);
    expect(ses.messages).toHaveLength(0);
  });

  test('an unsigned request gets MissingAuthenticationTokenException', async () => {
    const res = await fetch(`${ses.endpoint}/v2/email/account`);
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^MissingAuthenticationTokenException/);
    expect(await res.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  test('without Destination the recipients come from To, Cc and Bcc of the raw message', async () => {
    const raw = await mime({ to: 'a@rcpt.test', cc: 'b@rcpt.test', bcc: 'c@rcpt.test' });
    await client(ses).send(new SendEmailCommand({ Content: { Raw: { Data: raw } } }));
    expect(ses.messages[0].recipients).toEqual(['a@rcpt.test', 'b@rcpt.test', 'c@rcpt.test']);
    expect(ses.messages[0].destination).toBeNull();
  });

  test('more than 50 recipients in one message are rejected', async () => {
    const to = Array.from({ length: 51 }, (_, i) => `r${i}@rcpt.test`);
    const err = await caught(client(ses).send(new SendEmailCommand(sendInput(await mime(), to))));
    expect(err.name).toBe('MessageRejected');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toBe('Recipient count exceeds 50.');
  });

  test('sandbox: only verified identities as sender and recipient; GetAccount tells', async () => {
    ses.configure({ sandbox: true, verifiedIdentities: ['sender.test', 'ok@rcpt.test'] });
    const c = client(ses);
    await c.send(new SendEmailCommand(sendInput(await mime({ to: 'ok@rcpt.test' }), ['ok@rcpt.test'])));
    const rcpt = await caught(c.send(new SendEmailCommand(sendInput(await mime(), ['ok@rcpt.test', 'nope@rcpt.test']))));
    expect(rcpt.name).toBe('MessageRejected');
    expect(rcpt.message).toBe('Email address is not verified. The following identities failed the check in region EU-CENTRAL-1: nope@rcpt.test');
    const sender = await caught(c.send(new SendEmailCommand(sendInput(await mime({ from: 'x@other.test' }), ['ok@rcpt.test'], { FromEmailAddress: 'x@other.test' }))));
    expect(sender.message).toMatch(/failed the check in region EU-CENTRAL-1: x@other.test$/);
    const account = await c.send(new GetAccountCommand({}));
    expect(account).toMatchObject({ ProductionAccessEnabled: false, SendingEnabled: true, EnforcementStatus: 'HEALTHY', SendQuota: { Max24HourSend: 200, SentLast24Hours: 1 } });
  });

  test('throttleNext answers 429 TooManyRequestsException with Retry-After, then accepts again', async () => {
    ses.throttleNext(1, { retryAfterSeconds: 2 });
    const c = client(ses);
    const err = await caught(c.send(new SendEmailCommand(sendInput(await mime()))));
    expect(err.name).toBe('TooManyRequestsException');
    expect(err.$metadata.httpStatusCode).toBe(429);
    expect(err.$response.headers['retry-after']).toBe('2');
    await c.send(new SendEmailCommand(sendInput(await mime())));
    expect(ses.messages).toHaveLength(1);
  });

  test('failNext, paused sending and unknown configuration sets give the modeled errors', async () => {
    const c = client(ses);
    ses.failNext({ errorType: 'AccountSuspendedException', message: 'suspended' });
    expect((await caught(c.send(new SendEmailCommand(sendInput(await mime()))))).name).toBe('AccountSuspendedException');
    ses.configure({ sendingEnabled: false });
    expect((await caught(c.send(new SendEmailCommand(sendInput(await mime()))))).name).toBe('SendingPausedException');
    ses.configure({ sendingEnabled: true, configurationSets: ['events'] });
    const notFound = await caught(c.send(new SendEmailCommand(sendInput(await mime(), undefined, { ConfigurationSetName: 'missing' }))));
    expect(notFound.name).toBe('NotFoundException');
    expect(notFound.$metadata.httpStatusCode).toBe(404);
  });
});

const haveDovecot = !!dovecotBinary();
(haveDovecot ? describe : describe.skip)('fake SES delivering into dovecot', () => {
  const bob = { user: 'bob@example.test', password: 'bob-secret' };
  let dovecot: Dovecot;
  let ses: FakeSes;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: [bob] });
    ses = await startFakeSes({ region: 'eu-west-1', deliver: (rcpt, raw) => dovecot.deliver(rcpt, raw) });
  });
  afterAll(async () => {
    await ses?.close();
    await dovecot?.destroy();
  });

  test('the mailbox holds the message with the Message-ID SES gave it', async () => {
    const raw = await mime({ to: bob.user });
    const out = await client(ses).send(new SendEmailCommand(sendInput(raw, [bob.user])));
    const wire = await ImapWire.connect(dovecot.imapPort);
    await login(wire, bob.user, bob.password);
    await wire.command('SELECT INBOX');
    const r = await wire.command('FETCH 1 (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT)])');
    wire.close();
    const headers = r.untagged.find((l) => l.text.includes('FETCH'))!.literals[0].toString();
    expect(headers).toContain(`Message-ID: <${out.MessageId}@eu-west-1.amazonses.com>`);
    expect(headers).toContain('Subject: Hallo');
    expect(ses.messages[0].deliveryErrors).toEqual([]);
  });
});
