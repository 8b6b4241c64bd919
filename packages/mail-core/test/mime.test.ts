import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { assertSafeHeaders, buildMime, MailError, type OutgoingMessage } from '@mailbridge/mail-core';

const base = (): OutgoingMessage => ({
  from: { name: 'Anna Berger', address: 'anna@firma.example' },
  to: [{ address: 'bob@kunde.example' }],
  subject: 'Angebot',
  text: 'Hallo Bob',
});

function expectInvalidHeader(msg: OutgoingMessage): void {
  let caught: unknown;
  try {
    assertSafeHeaders(msg);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MailError);
  expect((caught as MailError).code).toBe('INVALID_HEADER');
  expect((caught as MailError).retryable).toBe(false);
}

describe('buildMime', () => {
  it('generates <uuid@sender-domain> when no Message-ID is given, and uses it in the header', async () => {
    const { raw, messageId } = await buildMime(base());
    expect(messageId).toMatch(/^<[0-9a-f-]{36}@firma\.example>$/);
    const parsed = await simpleParser(raw);
    expect(parsed.messageId).toBe(messageId);
  });

  it('uses the domain of Sender when sending on behalf of an alias', async () => {
    const { messageId, envelope } = await buildMime({ ...base(), sender: { address: 'robot@relay.example' } });
    expect(messageId).toMatch(/@relay\.example>$/);
    expect(envelope.from).toBe('robot@relay.example');
  });

  it('keeps a given Message-ID, adds angle brackets, and sets In-Reply-To / References', async () => {
    const { raw, messageId } = await buildMime({
      ...base(),
      messageId: 'fixed-1@firma.example',
      inReplyTo: '<parent@kunde.example>',
      references: ['root@kunde.example', '<parent@kunde.example>'],
    });
    expect(messageId).toBe('<fixed-1@firma.example>');
    const parsed = await simpleParser(raw);
    expect(parsed.inReplyTo).toBe('<parent@kunde.example>');
    expect(parsed.references).toEqual(['<root@kunde.example>', '<parent@kunde.example>']);
  });

  it('builds text + html, cc, bcc in the envelope only, reply-to, custom headers and attachments incl. a stream', async () => {
    const pdf = Buffer.from('%PDF-1.4 fake ' + 'x'.repeat(5000));
    const { raw, envelope } = await buildMime({
      ...base(),
      subject: 'Grüße – Überweisung',
      html: '<p>Hallo <b>Bob</b></p>',
      cc: [{ name: 'Carla Čapek', address: 'carla@kunde.example' }],
      bcc: [{ address: 'archiv@firma.example' }],
      replyTo: [{ address: 'team@firma.example' }],
      headers: { 'X-Mailbridge-Case': 'V-2024-17' },
      attachments: [
        { filename: 'Grüße – Überweisung.pdf', contentType: 'application/pdf', content: pdf },
        { filename: 'notes.txt', content: Readable.from([Buffer.from('streamed '), Buffer.from('content')]) },
      ],
    });
    expect(envelope.to.sort()).toEqual(['archiv@firma.example', 'bob@kunde.example', 'carla@kunde.example']);
    expect(raw.toString('latin1')).not.toMatch(/^Bcc:/im);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe('Grüße – Überweisung');
    expect(parsed.text?.trim()).toBe('Hallo Bob');
    expect(parsed.html).toContain('<b>Bob</b>');
    expect(parsed.headers.get('x-mailbridge-case')).toBe('V-2024-17');
    expect((parsed.replyTo?.value ?? [])[0].address).toBe('team@firma.example');
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['Grüße – Überweisung.pdf', 'notes.txt']);
    expect(parsed.attachments[0].content.equals(pdf)).toBe(true);
    expect(parsed.attachments[1].content.toString()).toBe('streamed content');
  });

  it('keeps Bcc in the headers only when asked (copy for the Sent folder)', async () => {
    const { raw } = await buildMime({ ...base(), bcc: [{ address: 'archiv@firma.example' }] }, { keepBcc: true });
    expect(raw.toString('latin1')).toMatch(/^Bcc: archiv@firma\.example/im);
  });
});

describe('assertSafeHeaders', () => {
  it('accepts a normal message', () => {
    expect(() => assertSafeHeaders({ ...base(), headers: { 'X-Tag': 'a b c' } })).not.toThrow();
  });
  it.each([
    ['subject with CRLF', { subject: 'Hi\r\nBcc: victim@x.example' }],
    ['subject with bare LF', { subject: 'Hi\nthere' }],
    ['to name with CR', { to: [{ name: 'Bob\rX', address: 'bob@kunde.example' }] }],
    ['to address with LF', { to: [{ address: 'bob@kunde.example\nBcc: x@y' }] }],
    ['from name with LF', { from: { name: 'A\nB', address: 'a@b.example' } }],
    ['cc address with CRLF', { cc: [{ address: 'c@d.example\r\n' }] }],
    ['reply-to with LF', { replyTo: [{ address: 'r@d.example\n' }] }],
    ['custom header value with CRLF', { headers: { 'X-Tag': 'a\r\nBcc: x@y' } }],
    ['custom header name with colon', { headers: { 'X-Tag: injected': 'a' } }],
    ['In-Reply-To with LF', { inReplyTo: '<a@b>\nX: y' }],
    ['References entry with CR', { references: ['<a@b>\rX: y'] }],
    ['attachment filename with LF', { attachments: [{ filename: 'a\n.pdf', content: 'x' }] }],
  ])('rejects %s', (_label, patch) => {
    expectInvalidHeader({ ...base(), ...(patch as Partial<OutgoingMessage>) });
  });

  it('buildMime refuses the same message before composing', async () => {
    await expect(buildMime({ ...base(), subject: 'a\r\nb' })).rejects.toMatchObject({ code: 'INVALID_HEADER' });
  });
});
