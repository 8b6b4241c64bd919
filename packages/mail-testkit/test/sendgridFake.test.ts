import { simpleParser } from 'mailparser';
import { dovecotBinary, startDovecot, type Dovecot } from '@mailbridge/mail-testkit';
import { FAKE_SENDGRID_KEYS, startFakeSendGrid, validateMailSend, type FakeSendGrid } from '../src/fakes/sendgrid';
import { ImapWire, login } from './imapWire';

const FULL = FAKE_SENDGRID_KEYS.full.key;

function post(sg: FakeSendGrid, body: unknown, key: string | null = FULL, path = '/v3/mail/send') {
  return fetch(sg.baseUrl + path, {
    method: 'POST',
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const valid = () => ({
  personalizations: [{ to: [{ email: 'bob@rcpt.test', name: 'Bob' }], cc: [{ email: 'carol@rcpt.test' }], bcc: [{ email: 'hidden@rcpt.test' }] }],
  from: { email: 'anna@sender.test', name: 'Anna' },
  subject: 'Hallo',
  content: [
    { type: 'text/plain', value: 'Hallo Bob' },
    { type: 'text/html', value: '<p>Hallo Bob</p>' },
  ],
  attachments: [{ content: Buffer.from([0, 1, 2, 254, 255]).toString('base64'), filename: 'a.bin', type: 'application/octet-stream', disposition: 'attachment' }],
  headers: { 'Message-ID': '<mine-1@sender.test>', 'In-Reply-To': '<orig@rcpt.test>', 'X-Case': 'V-17' },
  categories: ['mailbridge'],
  custom_args: { mailbridge_outbox_id: '17' },
});

describe('fake SendGrid', () => {
  let sg: FakeSendGrid;
  beforeEach(async () => {
    sg = await startFakeSendGrid({ verifiedSenders: ['sender.test'] });
  });
  afterEach(() => sg.close());

  test('GET /v3/scopes lists the key\'s scopes; no or a wrong key gets 401 in SendGrid\'s error shape', async () => {
    const ok = await fetch(`${sg.baseUrl}/v3/scopes`, { headers: { authorization: `Bearer ${FULL}` } });
    expect(ok.status).toBe(200);
    expect((await ok.json()).scopes).toContain('mail.send');
    const none = await fetch(`${sg.baseUrl}/v3/scopes`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ errors: [{ field: null, message: 'authorization required', help: null }] });
    const wrong = await fetch(`${sg.baseUrl}/v3/scopes`, { headers: { authorization: 'Bearer SG.nope' } });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).errors[0].message).toBe('The provided authorization grant is invalid, expired, or revoked');
  });

  test('a valid mail/send gets 202 with X-Message-Id; the rendered copy keeps our Message-ID and has no Bcc header', async () => {
    const res = await post(sg, valid());
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
    const id = res.headers.get('x-message-id')!;
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const [req] = sg.requests;
    expect(req.messageId).toBe(id);
    expect(req.recipients).toEqual(['bob@rcpt.test', 'carol@rcpt.test', 'hidden@rcpt.test']);
    const parsed = await simpleParser(req.rendered[0].raw);
    expect(parsed.messageId).toBe('<mine-1@sender.test>');
    expect(parsed.inReplyTo).toBe('<orig@rcpt.test>');
    expect(parsed.headers.get('x-case')).toBe('V-17');
    expect(parsed.text).toBe('Hallo Bob');
    expect(parsed.attachments[0].content.equals(Buffer.from([0, 1, 2, 254, 255]))).toBe(true);
    expect(req.rendered[0].raw.toString()).not.toMatch(/^Bcc:/im);
  });

  test('a key without mail.send gets 403 access forbidden', async () => {
    const res = await post(sg, valid(), FAKE_SENDGRID_KEYS.readOnly.key);
    expect(res.status).toBe(403);
    expect((await res.json()).errors[0].message).toBe('access forbidden');
    expect(sg.requests).toHaveLength(0);
  });

  test('an unverified from address gets 403 on the from field', async () => {
    const res = await post(sg, { ...valid(), from: { email: 'x@elsewhere.test' } });
    expect(res.status).toBe(403);
    expect((await res.json()).errors[0]).toMatchObject({ field: 'from', message: expect.stringMatching(/verified Sender Identity/) });
  });

  test('schema violations are answered 400 with one error per problem, field paths like SendGrid', async () => {
    const cases: Array<[string, (b: any) => any, string | null, RegExp]> = [
      ['no personalizations', (b) => ({ ...b, personalizations: [] }), 'personalizations', /at least one personalization/],
      ['no to', (b) => ({ ...b, personalizations: [{ cc: [{ email: 'c@rcpt.test' }] }] }), 'personalizations.0.to', /to array is required/],
      ['bad address', (b) => ({ ...b, personalizations: [{ to: [{ email: 'not-an-address' }] }] }), 'personalizations.0.to.0.email', /valid address/],
      [
        'duplicate between to and bcc',
        (b) => ({ ...b, personalizations: [{ to: [{ email: 'bob@rcpt.test' }], bcc: [{ email: 'BOB@rcpt.test' }] }] }),
        'personalizations.0',
        /unique between to, cc, and bcc.*\[BOB@rcpt\.test\] in the personalizations\.0\.bcc field/,
      ],
      ['empty cc', (b) => ({ ...b, personalizations: [{ to: [{ email: 'bob@rcpt.test' }], cc: [] }] }), 'personalizations.0.cc', /cc array, when used/],
      ['no from', (b) => ({ ...b, from: undefined }), 'from', /from object must be provided/],
      ['no subject', (b) => ({ ...b, subject: undefined }), 'subject', /subject is required/],
      ['empty content value', (b) => ({ ...b, content: [{ type: 'text/plain', value: '' }] }), 'content.0.value', /at least one character/],
      ['html first', (b) => ({ ...b, content: [...b.content].reverse() }), 'content', /text\/plain, text\/html/],
      ['attachment not base64', (b) => ({ ...b, attachments: [{ content: 'not base64!', filename: 'a.txt' }] }), 'attachments.0.content', /base64/],
      ['attachment without filename', (b) => ({ ...b, attachments: [{ content: 'AAAA' }] }), 'attachments.0.filename', /filename/],
      ['reserved header', (b) => ({ ...b, headers: { 'reply-to': 'x@y.test' } }), 'headers', /reserved/],
      ['non-ASCII header value', (b) => ({ ...b, headers: { 'X-Name': 'Grüße' } }), 'headers', /ASCII/],
      ['eleven categories', (b) => ({ ...b, categories: Array.from({ length: 11 }, (_, i) => `c${i}`) }), 'categories', /more than 10/],
      ['custom_args not strings', (b) => ({ ...b, custom_args: { id: 17 } }), 'custom_args.id', /must be strings/],
      ['reply_to and reply_to_list', (b) => ({ ...b, reply_to: { email: 'r@s.test' }, reply_to_list: [{ email: 'r@s.test' }] }), 'reply_to_list', /mutually exclusive/],
    ];
    for (const [name, change, field, message] of cases) {
      const res = await post(sg, change(valid()));
      const body = await res.json();
      expect([name, res.status]).toEqual([name, 400]);
      expect([name, body.errors]).toEqual([name, expect.arrayContaining([expect.objectContaining({ field, message: expect.stringMatching(message) })])]);
      for (const e of body.errors) expect(e.help).toMatch(/^http:\/\/sendgrid\.com\/docs\/API_Reference\/Web_API_v3\/Mail\/errors\.html#message\./);
    }
    expect(sg.requests).toHaveLength(0);
    expect((await post(sg, '{not json')).status).toBe(400);
  });

  test('a subject per personalization replaces the top-level one', () => {
    const b: any = valid();
    delete b.subject;
    b.personalizations[0].subject = 'per person';
    expect(validateMailSend(b)).toEqual([]);
  });

  test('more than 1000 recipients or personalizations in one request are refused', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ email: `r${i}@rcpt.test` }));
    const tooManyRecipients = await post(sg, { ...valid(), personalizations: [{ to: many }] });
    expect((await tooManyRecipients.json()).errors).toContainEqual(expect.objectContaining({ message: 'There is a limit of 1000 total recipients (to + cc + bcc) per request.' }));
    const tooManyPersonalizations = await post(sg, { ...valid(), personalizations: many.map((to) => ({ to: [to] })) });
    expect((await tooManyPersonalizations.json()).errors[0].message).toMatch(/limited to 1000 personalizations per API request. You have provided 1001/);
    const sameTwice = await post(sg, { ...valid(), personalizations: [{ to: [{ email: 'a@rcpt.test' }] }, { to: [{ email: 'A@rcpt.test' }] }] });
    expect((await sameTwice.json()).errors[0].message).toMatch(/should only be included once/);
  });

  test('throttleNext answers 429 with X-RateLimit-Reset, then 202', async () => {
    sg.throttleNext(1, { resetInSeconds: 30 });
    const before = Math.floor(Date.now() / 1000);
    const limited = await post(sg, valid());
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    const reset = Number(limited.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(before + 30);
    expect(reset).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 30);
    expect((await limited.json()).errors[0].message).toBe('too many requests');
    expect((await post(sg, valid())).status).toBe(202);
  });

  test('failNext can let calls pass first; too large bodies get 413', async () => {
    sg.failNext({ status: 500, errors: [{ message: 'boom' }] }, 1, { afterPassing: 1 });
    expect((await post(sg, valid())).status).toBe(202);
    expect((await post(sg, valid())).status).toBe(500);
    expect((await post(sg, valid())).status).toBe(202);
    const small = await startFakeSendGrid({ maxBodyBytes: 1000 });
    try {
      const res = await post(small, { ...valid(), attachments: [{ content: Buffer.alloc(2000).toString('base64'), filename: 'big.bin' }] });
      expect(res.status).toBe(413);
    } finally {
      await small.close();
    }
  });
});

(dovecotBinary() ? describe : describe.skip)('fake SendGrid delivering into dovecot', () => {
  const bob = { user: 'bob@example.test', password: 'bob-secret' };
  let dovecot: Dovecot;
  let sg: FakeSendGrid;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: [bob] });
    sg = await startFakeSendGrid({ deliver: (rcpt, raw) => dovecot.deliver(rcpt, raw) });
  });
  afterAll(async () => {
    await sg?.close();
    await dovecot?.destroy();
  });

  test('the mailbox holds the rendered message with our Message-ID and In-Reply-To', async () => {
    const body = { ...valid(), personalizations: [{ to: [{ email: bob.user }] }] };
    expect((await post(sg, body)).status).toBe(202);
    const wire = await ImapWire.connect(dovecot.imapPort);
    await login(wire, bob.user, bob.password);
    await wire.command('SELECT INBOX');
    const r = await wire.command('FETCH 1 (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO SUBJECT)])');
    wire.close();
    const headers = r.untagged.find((l) => l.text.includes('FETCH'))!.literals[0].toString();
    expect(headers).toContain('Message-ID: <mine-1@sender.test>');
    expect(headers).toContain('In-Reply-To: <orig@rcpt.test>');
    expect(sg.requests[0].deliveryErrors).toEqual([]);
  });
});
