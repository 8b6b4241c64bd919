import { createSource, type SyncedMessage } from '@mailbridge/mail-core';
import { makeMessage, seedMaildir, startDovecot, type Dovecot } from '@mailbridge/mail-testkit';
import { structureOfSource } from '../src/providers/imap/mimeStructure';
import { accountFor, ALICE } from './helpers';

// Small messages are read from one FETCH of their source and split by mimeStructure.ts; larger ones part by part,
// from dovecot's BODYSTRUCTURE. Both must give the same SyncedMessage. This corpus holds the shapes where a splitter
// goes wrong; each is synced both ways from the same dovecot and compared field by field.

const CRLF = '\r\n';
const lines = (...l: string[]) => Buffer.from(l.join(CRLF), 'utf8');
const head = (i: number, extra: string[]) => [
  `From: Sender ${i} <s${i}@example.test>`,
  'To: alice@example.test',
  `Subject: Case ${i}`,
  'Date: Mon, 02 Sep 2024 10:00:00 +0000',
  `Message-ID: <case-${i}@example.test>`,
  'MIME-Version: 1.0',
  ...extra,
];
const b64 = (s: string | Buffer) => (Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8')).toString('base64').replace(/.{76}/g, `$&${CRLF}`);

function corpus(): Array<[string, Buffer]> {
  const pdf = Buffer.alloc(3000, 7);
  return [
    ['plain', makeMessage(1)],
    ['non-ASCII subject and sender', makeMessage(2, { subject: 'Grüße aus Köln – Angebot', from: 'Jürgen Müller <jm@example.test>' })],
    ['attachments with RFC 2231 names', makeMessage(3, { attachments: [{ filename: 'Überweisung März.pdf', content: pdf, contentType: 'application/pdf' }, { filename: 'a.txt', content: Buffer.from('x') }] })],
    ['alternative, quoted-printable', lines(...head(4, ['Content-Type: multipart/alternative; boundary="alt"']), '', 'preamble', '--alt', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable', '', 'Gr=C3=BC=C3=9Fe, a long line that is soft=', ' broken', '--alt', 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable', '', '<p>Gr=C3=BC=C3=9Fe</p>', '--alt--', 'epilogue', '')],
    ['html only, charset from meta', lines(...head(5, ['Content-Type: text/html', 'Content-Transfer-Encoding: 8bit']), '', '<html><head><meta charset="iso-8859-1"></head><body>caf\u00e9</body></html>')],
    ['latin-1 quoted-printable', lines(...head(6, ['Content-Type: text/plain; charset=ISO-8859-1', 'Content-Transfer-Encoding: quoted-printable']), '', 'Stra=DFe und Pl=E4tze')],
    ['format=flowed delsp', lines(...head(7, ['Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes']), '', 'This is flow', 'ed text.', '')],
    ['related with inline image', lines(...head(8, ['Content-Type: multipart/related;', ' boundary="rel"; type="text/html"']), '', '--rel', 'Content-Type: text/html; charset=utf-8', '', '<img src="cid:logo@x">', '--rel', 'Content-Type: image/png', 'Content-ID: <logo@x>', 'Content-Disposition: inline', 'Content-Transfer-Encoding: base64', '', b64(Buffer.alloc(200, 1)), '--rel--', '')],
    ['forwarded message/rfc822', lines(...head(9, ['Content-Type: multipart/mixed; boundary=mix']), '', '--mix', 'Content-Type: text/plain', '', 'see below', '--mix', 'Content-Type: message/rfc822', '', 'Subject: =?utf-8?Q?Weitergeleitet_=C3=BC/b?=', 'From: x@example.test', '', 'inner body', '--mix--', '')],
    ['nested mixed(alternative, pdf)', lines(...head(10, ['Content-Type: multipart/mixed; boundary="outer"']), '', '--outer', 'Content-Type: multipart/alternative; boundary="inner"', '', '--inner', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64', '', b64('plain in base64 ünïcödé'), '--inner', 'Content-Type: text/html; charset=utf-8', '', '<b>html</b>', '--inner--', '', '--outer', 'Content-Type: application/pdf; name="=?utf-8?B?UmVjaG51bmfDvC5wZGY=?="', 'Content-Transfer-Encoding: base64', '', b64(pdf), '--outer--', '')],
    ['text part as attachment', lines(...head(11, ['Content-Type: multipart/mixed; boundary=b']), '', '--b', 'Content-Type: text/plain', '', 'body', '--b', 'Content-Type: text/plain; name=notes.txt', 'Content-Disposition: attachment; filename=notes.txt', '', 'notes', '--b', 'Content-Type: text/csv; name=data.csv', '', 'a,b', '--b--', '')],
    ['no closing delimiter', lines(...head(12, ['Content-Type: multipart/mixed; boundary=open']), '', '--open', 'Content-Type: text/plain', '', 'the mail ends without a close', '')],
    ['LF line ends', Buffer.from(head(13, ['Content-Type: multipart/alternative; boundary=lf']).join('\n') + '\n\n--lf\nContent-Type: text/plain\n\nplain\n--lf\nContent-Type: text/html\n\n<i>x</i>\n--lf--\n', 'utf8')],
    ['empty body', lines(...head(14, ['Content-Type: text/plain']), '', '')],
    ['boundary prefix inside a part', lines(...head(15, ['Content-Type: multipart/mixed; boundary=abc']), '', '--abc', 'Content-Type: text/plain', '', 'line', '--abcdef is not a delimiter', 'more', '--abc', 'Content-Type: text/html', '', '<p>h</p>', '--abc--', '')],
    ['hollow multipart (boundary matches nothing)', lines(...head(16, ['Content-Type: multipart/mixed; boundary=nomatch']), '', 'just text, no parts', '')],
    ['digest defaults to message/rfc822', lines(...head(17, ['Content-Type: multipart/digest; boundary=d']), '', '--d', '', 'Subject: one', '', 'first', '--d', '', 'Subject: two', '', 'second', '--d--', '')],
    ['no Content-Type at all', lines(...head(18, []), '', 'bare body')],
    ['large message, read part by part', makeMessage(19, { attachments: [{ filename: 'big.bin', content: Buffer.alloc(400 * 1024, 3) }] })],
    ['reply with references', makeMessage(20, { inReplyTo: 'case-1@example.test' })],
    ['transport padding and whitespace after the boundary', lines(...head(21, ['Content-Type: multipart/alternative; boundary="pad"']), '', '--pad  ', 'Content-Type: text/plain', '', 'padded', '--pad\t', 'Content-Type: text/html', '', '<p>padded</p>', '--pad--  ', '')],
    // the header-derived envelope (sources are fetched without ENVELOPE) against dovecot's ENVELOPE
    ['address forms: quoted comma, encoded name, comment, groups, sender, reply-to', lines(
      'From: "Müller, Hans" <hans@example.test>',
      'To: a@example.test, "B" <b@example.test>, =?utf-8?Q?J=C3=BCrgen_K=C3=B6hler?= <jk@example.test>',
      'Cc: undisclosed-recipients:;',
      'Bcc: Team: m1@example.test, "M Zwei" <m2@example.test>;',
      'Reply-To: support@example.test (Support Team)',
      'Sender: assistant@example.test',
      'Subject: =?utf-8?B?w5xiZXJwcsO8ZnVuZw==?= und =?utf-8?Q?Gr=C3=BC=C3=9Fe?=',
      'Date: Tue, 3 Sep 2024 08:15:00 +0200',
      'Message-ID: <case-23@example.test>',
      'In-Reply-To: <case-1@example.test>',
      'Content-Type: text/plain; charset=utf-8',
      '', 'addresses')],
    ['folded subject and address list', lines(
      'From: Folded Sender <folded@example.test>',
      'To: first@example.test,',
      '  "Second Person" <second@example.test>',
      'Subject: A subject that is long enough to be folded',
      ' onto a second line',
      'Date: Wed, 4 Sep 2024 09:00:00 +0000',
      'Message-ID:',
      ' <case-24@example.test>',
      '', 'folded')],
    ['raw UTF-8 in the header', lines(
      'From: Jörg Weiß <joerg@example.test>',
      'To: Zoë <zoe@example.test>',
      'Subject: Grüße direkt, ohne Kodierung',
      'Date: Thu, 5 Sep 2024 10:00:00 +0000',
      'Message-ID: <case-25@example.test>',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '', 'Grüße')],
    ['no From, Date or Message-ID', lines('To: alice@example.test', 'Subject: bare', '', 'bare')],
    ['addresses without a domain', lines('From: root', 'To: alice, bob@example.test, <carol>', 'Subject: local parts', 'Message-ID: <case-27@example.test>', '', 'local')],
    ['a sender without a domain, named by a comment', lines('From: root (Cron Daemon)', 'To: alice@example.test', 'Subject: cron', 'Message-ID: <case-28@example.test>', '', 'local')],
    ['empty parts and a part without headers', lines(...head(22, ['Content-Type: multipart/mixed; boundary=e']), '', '--e', '', 'no headers here', '--e', 'Content-Type: text/plain', '', '', '--e--', '')],
  ];
}

async function syncAll(dc: Dovecot, sourceFetchBytes: number): Promise<Map<string, SyncedMessage>> {
  const source = createSource(accountFor(dc));
  const out = new Map<string, SyncedMessage>();
  try {
    for await (const batch of source.syncFolder('INBOX', null, { sourceFetchBytes } as never)) for (const m of batch.added) out.set(m.providerId, m);
  } finally {
    await source.close();
  }
  return out;
}

describe('small messages read from their source = read part by part', () => {
  let dc: Dovecot;
  const cases = corpus();

  beforeAll(async () => {
    dc = await startDovecot({ users: [ALICE] });
    await seedMaildir(dc, ALICE.user, 'INBOX', cases.map(([, mail]) => mail));
  }, 60_000);
  afterAll(async () => dc?.stop());

  it('gives the same message for every shape of the corpus', async () => {
    const bySource = await syncAll(dc, 256 * 1024);
    const byStructure = await syncAll(dc, 0);
    expect(bySource.size).toBe(cases.length);
    expect(byStructure.size).toBe(cases.length);
    cases.forEach(([name], i) => {
      const uid = String(i + 1);
      expect({ name, message: bySource.get(uid) }).toEqual({ name, message: byStructure.get(uid) });
    });
    expect(bySource.get('3')?.attachments.map((a) => a.filename)).toEqual(['Überweisung März.pdf', 'a.txt']);
    expect(bySource.get('4')?.text).toBe('Grüße, a long line that is soft broken');
  }, 60_000);

  it('fetches sources in runs of about 16 MB and large mails part by part, never a large source whole', async () => {
    const mails = Array.from({ length: 90 }, (_, i) => makeMessage(1000 + i, { bodyBytes: 200 * 1024 }));
    mails.push(makeMessage(2000, { attachments: [{ filename: 'big.bin', content: Buffer.alloc(2 * 1024 * 1024, 5) }] }));
    await seedMaildir(dc, ALICE.user, 'Big', mails);
    const commands: string[] = [];
    const source = createSource(accountFor(dc), { onImapCommand: (line) => commands.push(line) });
    const added: SyncedMessage[] = [];
    try {
      for await (const batch of source.syncFolder('Big', null, {})) added.push(...batch.added);
    } finally {
      await source.close();
    }
    expect(added.map((m) => m.providerId)).toEqual(mails.map((_, i) => String(i + 1)));
    expect(added[90].attachments.map((a) => a.filename)).toEqual(['big.bin']);
    expect(added[0].text!.length).toBeGreaterThan(190 * 1024); // CRLF read as LF
    const fetches = commands.filter((c) => /UID FETCH/i.test(c));
    // sizes, then 90 × ~200 KB in two runs, then the 2 MB mail by its structure (its text is in the metadata FETCH)
    expect(fetches.filter((c) => /BODY\.PEEK\[\]<0\.262144>/i.test(c))).toHaveLength(2);
    expect(fetches.filter((c) => /\(UID RFC822\.SIZE( MODSEQ)?\)$/i.test(c))).toHaveLength(1);
    expect(fetches.filter((c) => /BODYSTRUCTURE/i.test(c))).toHaveLength(1);
  }, 60_000);

  it('splits what it can read and refuses what it would have to guess', () => {
    const parts = (n: number) => structureOfSource(cases[n][1]);
    const refused = cases.filter(([, mail]) => {
      try {
        structureOfSource(mail);
        return false;
      } catch {
        return true;
      }
    });
    expect(refused.map(([name]) => name)).toEqual(['no closing delimiter', 'boundary prefix inside a part', 'hollow multipart (boundary matches nothing)']);
    expect([...parts(9).bodies.keys()]).toEqual(['1.1', '1.2', '2']);
    expect(parts(20).bodies.get('2')?.toString()).toBe('<p>padded</p>');
    expect(() => parts(14)).toThrow(/no delimiter/);
    expect(() => parts(11)).toThrow(/closing delimiter/);
    expect(() => parts(15)).toThrow(/no delimiter of the multipart boundary/);
  });
});
