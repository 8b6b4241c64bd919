import { makeMessage, seedMaildir, seededRandom, startDovecot, type Dovecot } from '@mailbridge/mail-testkit';
import { createSource, type SyncedMessage } from '@mailbridge/mail-core';
import { messageFromParsed, parseSource } from '../src/providers/imap/imapFullParse';
import { envelopeFields, headersOfInterest, messageIdsOf, parseHeaderBlock, snippetOf } from '../src/providers/imap/imapParse';
import { ALICE, FolderStore, accountFor } from './helpers';

// Issue #9: a bounded, deterministic fuzz of the parser path. 2,000 seeded mutations of valid mails (the budget is
// the count, not a clock) go through the full-parse fallback offline and then through a real sync from dovecot,
// which takes the fast path (ENVELOPE/BODYSTRUCTURE + text parts) and falls back where that cannot read a mail.
// Nothing may throw out of the sync: every mail comes back once, parsed or with parseError.
const CASES = 2000;
const SEED = 0x5eed2024;

const CRLF = '\r\n';
const join = (...l: string[]) => Buffer.from(l.join(CRLF) + CRLF);

/** Valid mails of the shapes real mail has. */
function corpus(): Buffer[] {
  const pdf = Buffer.alloc(3000, 0x25);
  return [
    makeMessage(1),
    makeMessage(2, { subject: 'Grüße – Überweisung ✓', from: 'Jürgen Müller <j@example.test>', bodyBytes: 3000 }),
    makeMessage(3, { attachments: [{ filename: 'Rechnung.pdf', contentType: 'application/pdf', content: pdf }, { filename: 'ä.txt', content: Buffer.from('x') }] }),
    join(
      'From: a@example.test',
      'To: b@example.test',
      'Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= alternative',
      'Date: Mon, 01 Jan 2024 10:00:00 +0000',
      'Message-ID: <alt@example.test>',
      'References: <r1@x> <r2@x>',
      'In-Reply-To: <r2@x>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="alt-b"',
      '',
      '--alt-b',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Gr=FC=DFe aus K=F6ln, eine lange Zeile die mit einem weichen Umbruch =',
      'weitergeht.',
      '--alt-b',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<p>Grüße <b>aus</b> Köln</p><img src="cid:logo@x">').toString('base64'),
      '--alt-b--',
    ),
    join(
      'From: "Team, Support" <support@example.test>',
      'To: undisclosed-recipients:;',
      'Subject: related with inline image and a forwarded mail',
      'Date: Tue, 02 Jan 2024 10:00:00 +0100',
      'Message-ID: <rel@example.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/related; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>Logo: <img src="cid:logo@x"></p>',
      '--inner',
      'Content-Type: image/png',
      'Content-ID: <logo@x>',
      'Content-Disposition: inline',
      'Content-Transfer-Encoding: base64',
      '',
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      '--inner--',
      '--outer',
      'Content-Type: message/rfc822',
      '',
      'From: x@example.test',
      'Subject: inner mail',
      'Content-Type: text/plain; format=flowed; delsp=yes',
      '',
      'flowed text that is ',
      'joined',
      '--outer--',
    ),
  ];
}

const NASTY = [
  '\r\n', '\n', '\r', '\0', '=', '?=', '=?', '=?utf-8?B?', '=?x-bogus?Q?', '--', '--alt-b', '--outer--', '--inner', ': ', ';', '"', '\\',
  '\r\n\r\n', '\r\n ', 'Content-Type: multipart/mixed; boundary="x"\r\n', 'Content-Transfer-Encoding: base64\r\n',
  'charset=utf-7', 'charset=x-unknown', 'filename*=UTF-8\'\'%E2%82', '\xff\xfe', '\xc3\x28', '\xe2\x82', '<', '>', '<<>>',
  'Message-ID: <\r\n', 'Subject: ' + 'x'.repeat(2000), 'begin 644 a\r\n', '&#x', '<script>',
];

function mutate(input: Buffer, rnd: () => number): Buffer {
  let b = Buffer.from(input);
  const at = (len = b.length) => Math.floor(rnd() * Math.max(1, len));
  const ops = 1 + Math.floor(rnd() * 4);
  for (let n = 0; n < ops; n++) {
    const op = Math.floor(rnd() * 11);
    switch (op) {
      case 0: {
        // flip bytes
        for (let k = 0, m = 1 + Math.floor(rnd() * 8); k < m && b.length; k++) b[at()] = Math.floor(rnd() * 256);
        break;
      }
      case 1: {
        const p = at();
        const piece = Buffer.from(NASTY[Math.floor(rnd() * NASTY.length)], 'latin1');
        b = Buffer.concat([b.subarray(0, p), piece, b.subarray(p)]);
        break;
      }
      case 2: {
        const p = at();
        b = Buffer.concat([b.subarray(0, p), b.subarray(Math.min(b.length, p + 1 + at(200)))]);
        break;
      }
      case 3: {
        const p = at();
        const q = Math.min(b.length, p + 1 + at(400));
        b = Buffer.concat([b.subarray(0, q), b.subarray(p, q), b.subarray(q)]);
        break;
      }
      case 4:
        b = b.subarray(0, Math.max(1, at()));
        break;
      case 5:
        b = Buffer.from(b.toString('latin1').replace(/boundary="?([^";\r\n]+)"?/i, `boundary="${rnd() < 0.5 ? '' : 'z'.repeat(1 + at(300))}"`), 'latin1');
        break;
      case 6:
        b = Buffer.from(b.toString('latin1').replace(/charset=("?)[^";\r\n]*/gi, `charset=$1${['utf-7', 'x-bogus', '', 'utf-16', 'iso-2022-jp', 'gb18030', 'utf-8'][at(7)]}`), 'latin1');
        break;
      case 7:
        b = Buffer.from(b.toString('latin1').replace(/Content-Transfer-Encoding: \S+/gi, () => `Content-Transfer-Encoding: ${['base64', 'quoted-printable', '8bit', 'binary', 'x-mars', ''][at(6)]}`), 'latin1');
        break;
      case 8: {
        const lines = b.toString('latin1').split('\r\n');
        lines.splice(at(Math.min(lines.length, 12)), 0, `X-Fuzz-${n}: ${Buffer.from(Array.from({ length: at(60) }, () => Math.floor(rnd() * 256))).toString('latin1')}`);
        b = Buffer.from(lines.join('\r\n'), 'latin1');
        break;
      }
      case 9:
        b = Buffer.from(b.toString('latin1').replace(/\r\n/g, rnd() < 0.5 ? '\n' : '\r'), 'latin1');
        break;
      default: {
        // nest the whole thing one level deeper, possibly with a clashing boundary
        const boundary = rnd() < 0.5 ? 'alt-b' : `w${n}`;
        b = Buffer.concat([join(`Subject: wrapped ${n}`, `Content-Type: multipart/mixed; boundary="${boundary}"`, '', `--${boundary}`), b, Buffer.from(`\r\n--${boundary}--\r\n`)]);
      }
    }
  }
  return b;
}

function cases(): Buffer[] {
  const rnd = seededRandom(SEED);
  const base = corpus();
  return Array.from({ length: CASES }, (_, i) => mutate(base[i % base.length], rnd));
}

describe(`fuzz: ${CASES} seeded mutations of valid mails through the parser path`, () => {
  const mails = cases();

  it('is deterministic: the same seed gives the same mails', () => {
    const again = cases();
    expect(again.every((m, i) => m.equals(mails[i]))).toBe(true);
  });

  it('the full-parse fallback turns each into a message or a rejected promise, never a throw, a hang or a crash', async () => {
    let rejected = 0;
    for (let i = 0; i < mails.length; i++) {
      const raw = mails[i];
      // the pure helpers of the fast path take anything
      const fields = parseHeaderBlock(raw.subarray(0, 4096));
      headersOfInterest(fields);
      messageIdsOf(fields.get('references'));
      let parsed;
      try {
        parsed = await parseSource(raw);
      } catch {
        rejected++; // fetchNewMessages catches this and keeps the envelope with parseError
        continue;
      }
      const synced: SyncedMessage = messageFromParsed('INBOX', { uid: i + 1, seq: i + 1, flags: new Set(), size: raw.length, source: raw } as any, parsed);
      expect(synced.providerId).toBe(String(i + 1));
      expect(Array.isArray(synced.attachments)).toBe(true);
      snippetOf(synced.text, synced.html);
      envelopeFields('INBOX', { uid: i + 1, seq: i + 1 } as any);
    }
    console.log(`[fuzz] full parse: ${mails.length - rejected} parsed, ${rejected} rejected by mailparser`);
  });

  describe('through a real sync from dovecot', () => {
    let dc: Dovecot;

    beforeAll(async () => {
      dc = await startDovecot({ users: [ALICE] });
      await seedMaildir(dc, ALICE.user, 'INBOX', mails);
    });

    afterAll(async () => {
      await dc?.destroy();
    });

    it('returns every mail exactly once; unreadable ones with parseError, the others parsed', async () => {
      const source = createSource(accountFor(dc));
      const store = new FolderStore();
      try {
        await store.sync(source, 'INBOX', { batchSize: 250 });
      } finally {
        await source.close();
      }
      expect(store.rows.size).toBe(CASES);
      expect([...store.rows.keys()].map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: CASES }, (_, i) => i + 1));
      expect(store.cursor).toMatchObject({ uidNext: CASES + 1, uids: `1:${CASES}` });
      const marked = [...store.rows.values()].filter((m) => m.parseError);
      for (const m of store.rows.values()) {
        expect(typeof m.subject).toBe('string');
        expect(m.date instanceof Date && !Number.isNaN(m.date.getTime())).toBe(true);
      }
      console.log(`[fuzz] dovecot sync: ${CASES} mails, ${marked.length} with parseError${marked.length ? ': ' + marked.slice(0, 3).map((m) => m.parseError).join(' | ') : ''}`);
    });
  });
});
