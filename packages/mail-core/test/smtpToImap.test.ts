import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { freePort, startDovecot, startSmtpSink, type Dovecot, type SmtpSink } from '@mailbridge/mail-testkit';
import { createSource, createTransport, testConnection, type AccountConfig, type MailSource, type SmtpImapAccountConfig, type MailTransport, type OutgoingMessage } from '@mailbridge/mail-core';
import { ALICE, FolderStore, accountFor, expectMailError, streamToBuffer } from './helpers';

const BOB = { user: 'bob@example.test', password: 'bob-pw-2' };

let dc: Dovecot;
let sink: SmtpSink;
let account: SmtpImapAccountConfig;
const open: Array<MailTransport | MailSource> = [];

beforeAll(async () => {
  dc = await startDovecot({ users: [ALICE, BOB] });
  sink = await startSmtpSink({ users: [ALICE], dovecot: dc, rejectRecipients: ['refused@example.test'] });
  account = accountFor(dc, sink.port);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

afterAll(async () => {
  await sink?.close();
  await dc?.destroy();
});

function transport(config: AccountConfig = account): MailTransport {
  const t = createTransport(config);
  open.push(t);
  return t;
}

function source(config: AccountConfig): MailSource {
  const s = createSource(config);
  open.push(s);
  return s;
}

const message = (patch: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  from: { name: 'Alice Example', address: ALICE.user },
  to: [{ name: 'Bob', address: BOB.user }],
  subject: 'Hello',
  text: 'Hi Bob',
  ...patch,
});

describe('SMTP transport → dovecot → IMAP source', () => {
  it('sends text + html with two attachments (one streamed) and non-ASCII names; the source reads it back byte-exact', async () => {
    const pdf = Buffer.alloc(200_000);
    for (let i = 0; i < pdf.length; i++) pdf[i] = (i * 7 + 3) % 256;
    const csvParts = ['Datum;Betrag\n', '01.02.2024;100,00 €\n', '02.02.2024;-17,50 €\n'];
    const sent = await transport().send(
      message({
        subject: 'Grüße – Überweisung für März',
        text: 'Hallo Bob,\nanbei die Überweisung.',
        html: '<p>Hallo Bob,<br>anbei die <b>Überweisung</b>.</p>',
        attachments: [
          { filename: 'Grüße – Überweisung.pdf', contentType: 'application/pdf', content: pdf },
          { filename: 'Umsätze.csv', contentType: 'text/csv', content: Readable.from(csvParts.map((p) => Buffer.from(p))) },
        ],
        headers: { 'X-Mailbridge-Case': 'V-2024-17' },
      }),
    );
    expect(sent.messageId).toMatch(/^<[0-9a-f-]{36}@example\.test>$/);
    expect(sent.accepted).toEqual([BOB.user]);
    expect(sent.rejected).toEqual([]);
    expect(sent.providerMessageId).toBeTruthy();

    const store = new FolderStore();
    const bob = source({ ...account, address: BOB.user, auth: { method: 'password', password: BOB.password } });
    await store.sync(bob, 'INBOX');
    const got = [...store.rows.values()].find((m) => m.messageId === sent.messageId);
    expect(got).toBeDefined();
    expect(got!.subject).toBe('Grüße – Überweisung für März');
    expect(got!.from).toEqual({ name: 'Alice Example', address: ALICE.user });
    expect(got!.text).toContain('anbei die Überweisung.');
    expect(got!.html).toContain('<b>Überweisung</b>');
    expect(got!.snippet).toBe('Hallo Bob, anbei die Überweisung.');
    expect(got!.hasAttachments).toBe(true);
    expect(got!.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['Grüße – Überweisung.pdf', 'application/pdf'],
      ['Umsätze.csv', 'text/csv'],
    ]);

    const pdfDownload = await bob.downloadAttachment('INBOX', got!.providerId, got!.attachments[0].partId);
    expect(pdfDownload.filename).toBe('Grüße – Überweisung.pdf');
    expect((await streamToBuffer(pdfDownload.stream)).equals(pdf)).toBe(true);
    const csvDownload = await bob.downloadAttachment('INBOX', got!.providerId, got!.attachments[1].partId);
    expect((await streamToBuffer(csvDownload.stream)).toString('utf8')).toBe(csvParts.join(''));
  });

  it('CR/LF in a subject, header or address is refused with INVALID_HEADER and nothing reaches the server', async () => {
    const t = transport();
    const before = sink.received.length;
    await expectMailError(t.send(message({ subject: 'Hi\r\nBcc: victim@example.test' })), 'INVALID_HEADER');
    await expectMailError(t.send(message({ headers: { 'X-Tag': 'ok\nBcc: victim@example.test' } })), 'INVALID_HEADER');
    await expectMailError(t.send(message({ to: [{ address: 'bob@example.test\r\nRCPT TO:<victim@example.test>' }] })), 'INVALID_HEADER');
    await expectMailError(t.send(message({ from: { name: 'Alice\nBcc: victim@example.test', address: ALICE.user } })), 'INVALID_HEADER');
    // the next proper mail is the only one the server got
    const ok = await t.send(message({ subject: 'after the refused ones' }));
    const received = await sink.waitFor(before + 1);
    expect(sink.received).toHaveLength(before + 1);
    const parsed = await simpleParser(received[before].raw);
    expect(parsed.messageId).toBe(ok.messageId);
    expect(received[before].to).toEqual([BOB.user]);
  });

  it('reports refused recipients: some → rejected[], all → RECIPIENT_REJECTED', async () => {
    const t = transport();
    const partly = await t.send(message({ to: [{ address: BOB.user }], cc: [{ address: 'refused@example.test' }] }));
    expect(partly.accepted).toEqual([BOB.user]);
    expect(partly.rejected).toEqual(['refused@example.test']);
    const err = await expectMailError(t.send(message({ to: [{ address: 'refused@example.test' }] })), 'RECIPIENT_REJECTED');
    expect(err.retryable).toBe(false);
  });

  it('Bcc recipients get the mail without a Bcc header', async () => {
    const before = sink.received.length;
    await transport().send(message({ bcc: [{ address: ALICE.user }] }));
    const [mail] = (await sink.waitFor(before + 1)).slice(before);
    expect(mail.to.sort()).toEqual([ALICE.user, BOB.user].sort());
    expect(mail.raw.toString('latin1')).not.toMatch(/^Bcc:/im);
  });

  it('SMTP with a wrong password → AUTH_FAILED, with a hint and no password in the message', async () => {
    const wrong = { ...account, auth: { method: 'password' as const, password: 'totally-wrong-pw' } };
    const err = await expectMailError(transport(wrong).send(message()), 'AUTH_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.hint).toMatch(/password/i);
    expect(err.message).not.toContain('totally-wrong-pw');
    await expectMailError(transport(wrong).verify(), 'AUTH_FAILED');
  });

  it('SMTP connection refused → HOST_UNREACHABLE', async () => {
    const port = await freePort();
    await expectMailError(transport({ ...account, smtp: { host: '127.0.0.1', port, security: 'none' } }).verify(), 'HOST_UNREACHABLE');
  });

  it('STARTTLS required but not offered → TLS_MISMATCH', async () => {
    await expectMailError(transport({ ...account, smtp: { ...account.smtp, security: 'starttls' } }).verify(), 'TLS_MISMATCH');
  });

  it('testConnection reports every step', async () => {
    const ok = await testConnection(account);
    expect(ok.ok).toBe(true);
    expect(ok.steps.map((s) => [s.name, s.ok])).toEqual([
      ['smtp', true],
      ['imap', true],
    ]);
    expect(ok.steps[1].folders?.map((f) => f.specialUse).filter(Boolean).sort()).toEqual(['drafts', 'inbox', 'junk', 'sent', 'trash']);

    const bad = await testConnection({ ...account, auth: { method: 'password', password: 'nope-nope' } });
    expect(bad.ok).toBe(false);
    expect(bad.steps.map((s) => s.error?.code)).toEqual(['AUTH_FAILED', 'AUTH_FAILED']);
    expect(JSON.stringify(bad)).not.toContain('nope-nope');
  });
});
