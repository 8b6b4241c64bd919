import nodemailer from 'nodemailer';
import { makeMessage, startDovecot, startSmtpSink, type Dovecot, type SmtpSink } from '@mailbridge/mail-testkit';
import { ImapWire, login, status } from './imapWire';

const alice = { user: 'alice@example.test', password: 'alice-secret' };
const bob = { user: 'bob@example.test', password: 'bob-secret' };

function transport(sink: SmtpSink, auth?: { user: string; pass: string }) {
  return nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false, ignoreTLS: true, auth });
}

describe('without dovecot', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink({ rejectRecipients: ['Blocked@example.test'] });
  });
  afterAll(() => sink.close());

  test('collects envelope and raw message, without AUTH', async () => {
    const raw = makeMessage(1);
    await transport(sink).sendMail({ envelope: { from: 'x@example.test', to: ['y@example.test', 'z@example.test'] }, raw });
    const [mail] = await sink.waitFor(1);
    expect(mail.from).toBe('x@example.test');
    expect(mail.to).toEqual(['y@example.test', 'z@example.test']);
    expect(mail.raw.equals(raw)).toBe(true);
  });

  test('rejectRecipients get 550', async () => {
    const send = transport(sink).sendMail({ from: 'x@example.test', to: 'blocked@example.test', text: 'hi' });
    await expect(send).rejects.toMatchObject({ responseCode: 550 });
  });

  test('waitFor times out with a clear message', async () => {
    await expect(sink.waitFor(99, 50)).rejects.toThrow(/expected 99 mail/);
  });
});

describe('with users and dovecot behind it', () => {
  let dovecot: Dovecot;
  let sink: SmtpSink;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: [alice, bob] });
    sink = await startSmtpSink({ users: [alice], dovecot });
  });
  afterAll(async () => {
    await sink?.close();
    await dovecot?.destroy();
  });

  test('AUTH is required and checked', async () => {
    await expect(transport(sink).sendMail({ from: alice.user, to: bob.user, text: 'x' })).rejects.toMatchObject({
      responseCode: 530,
    });
    await expect(
      transport(sink, { user: alice.user, pass: 'wrong' }).sendMail({ from: alice.user, to: bob.user, text: 'x' }),
    ).rejects.toMatchObject({ responseCode: 535 });
    expect(sink.received).toHaveLength(0);
  });

  test('a mail sent with nodemailer is in the INBOX when sendMail resolves, byte-identical after the LMTP headers', async () => {
    const info = await transport(sink, { user: alice.user, pass: alice.password }).sendMail({
      from: 'Alice <alice@example.test>',
      to: 'Bob <bob@example.test>',
      subject: 'Grüße aus dem Test',
      text: 'Hallo Bob,\n.a line starting with a dot\n\nbis bald',
      html: '<p>Hallo Bob</p>',
      attachments: [{ filename: 'daten.bin', content: Buffer.from([0, 1, 2, 255, 254, 13, 10, 46]) }],
    });
    expect(info.accepted).toEqual(['bob@example.test']);
    expect(sink.received).toHaveLength(1);
    expect(sink.received[0].authUser).toBe(alice.user);
    const sent = sink.received[0].raw;

    // no waiting: the sink answered 250 only after dovecot had stored the message
    const wire = await ImapWire.connect(dovecot.imapPort);
    await login(wire, bob.user, bob.password);
    await wire.command('SELECT INBOX');
    const r = await wire.command('FETCH 1 (BODY.PEEK[])');
    const stored = r.untagged.find((l) => l.text.includes('FETCH'))!.literals[0];
    wire.close();

    const added = stored.subarray(0, stored.length - sent.length).toString('utf8');
    expect(stored.subarray(stored.length - sent.length).equals(sent)).toBe(true);
    expect(added).toMatch(/^Return-Path: <alice@example\.test>\r\n/);
    expect(added).toContain('Delivered-To: bob@example.test');
  });

  test('unknown recipients get 550, known ones of the same mail are not delivered either', async () => {
    const send = transport(sink, { user: alice.user, pass: alice.password }).sendMail({
      from: alice.user,
      to: 'ghost@example.test',
      text: 'x',
    });
    await expect(send).rejects.toMatchObject({ responseCode: 550 });
  });

  test('plus-addressed recipients reach the base user', async () => {
    await transport(sink, { user: alice.user, pass: alice.password }).sendMail({
      envelope: { from: alice.user, to: ['bob+case-4711@example.test'] },
      raw: makeMessage(7),
    });
    const wire = await ImapWire.connect(dovecot.imapPort);
    await login(wire, bob.user, bob.password);
    expect(await status(wire, 'INBOX', 'MESSAGES')).toEqual({ MESSAGES: 2 });
    wire.close();
  });

  test('when dovecot is down the client gets a temporary 451 and the sink keeps nothing', async () => {
    const before = sink.received.length;
    await dovecot.kill();
    try {
      const send = transport(sink, { user: alice.user, pass: alice.password }).sendMail({
        from: alice.user,
        to: bob.user,
        text: 'x',
      });
      await expect(send).rejects.toMatchObject({ responseCode: 451 });
      expect(sink.received).toHaveLength(before);
    } finally {
      await dovecot.start();
    }
  });
});
