import type { MessageStructureObject } from 'imapflow';
import { decodeTextPart, planBody } from '@mailbridge/mail-core';
import { messageIdsOf, parseHeaderBlock, snippetOf } from '../src/providers/imap/imapParse';
import { addressesOf, parsedAddresses } from '../src/providers/imap/headerEnvelope';

const leaf = (part: string, type: string, extra: Partial<MessageStructureObject> = {}): MessageStructureObject => ({ part, type, size: 100, ...extra });

describe('body plan from BODYSTRUCTURE', () => {
  it('mixed(alternative(plain, related(html, image)), pdf): two text parts, inline image and pdf as attachments', () => {
    const plan = planBody({
      type: 'multipart/mixed',
      childNodes: [
        {
          part: '1',
          type: 'multipart/alternative',
          childNodes: [
            leaf('1.1', 'text/plain'),
            { part: '1.2', type: 'multipart/related', childNodes: [leaf('1.2.1', 'text/html'), leaf('1.2.2', 'image/png', { id: '<logo@x>', disposition: 'inline', encoding: 'base64', size: 780 })] },
          ],
        },
        leaf('2', 'application/pdf', { disposition: 'attachment', dispositionParameters: { filename: 'Rechnung.pdf' }, encoding: 'base64', size: 7800 }),
        leaf('3', 'text/plain', { disposition: 'attachment', dispositionParameters: { filename: 'notes.txt' } }),
        leaf('4', 'message/rfc822', { envelope: { subject: 'Fwd: a/b' } }),
      ],
    });
    expect(plan.text.map((n) => n.part)).toEqual(['1.1']);
    expect(plan.html.map((n) => n.part)).toEqual(['1.2.1']);
    expect(plan.attachments).toEqual([
      { partId: '1.2.2', contentType: 'image/png', size: 570, disposition: 'inline', cid: 'logo@x' },
      { partId: '2', contentType: 'application/pdf', size: 5700, disposition: 'attachment', filename: 'Rechnung.pdf' },
      { partId: '3', contentType: 'text/plain', size: 100, disposition: 'attachment', filename: 'notes.txt' },
      { partId: '4', contentType: 'message/rfc822', size: 100, disposition: 'attachment', filename: 'Fwd_ a_b.eml' },
    ]);
  });

  it('a single-part message is part 1', () => {
    expect(planBody({ type: 'text/html', size: 10 }).html.map((n) => n.part ?? '1')).toEqual(['1']);
  });
});

describe('decoding text parts', () => {
  it('quoted-printable ISO-8859-1', () => {
    expect(decodeTextPart(Buffer.from('Gr=FC=DFe, =\r\nStra=DFe\r\nEnde'), leaf('1', 'text/plain', { encoding: 'quoted-printable', parameters: { charset: 'iso-8859-1' } }))).toBe('Grüße, Straße\nEnde');
  });
  it('base64 UTF-8 over several lines', () => {
    const b64 = Buffer.from('Überweisung ✓ erledigt').toString('base64').replace(/(.{8})/g, '$1\r\n');
    expect(decodeTextPart(Buffer.from(b64), leaf('1', 'text/plain', { encoding: 'base64', parameters: { charset: 'utf-8' } }))).toBe('Überweisung ✓ erledigt');
  });
  it('format=flowed is unwrapped', () => {
    expect(decodeTextPart(Buffer.from('a soft \r\nbreak\r\nhard'), leaf('1', 'text/plain', { parameters: { charset: 'utf-8', format: 'flowed' } }))).toBe('a soft break\nhard');
  });

  it('line ends become \\n: CRLF, a lone CR and LF alike', () => {
    const plain = leaf('1', 'text/plain', { parameters: { charset: 'utf-8' } });
    expect(decodeTextPart(Buffer.from('eins\r\nzwei\rdrei\nvier\r\n\r\n'), plain)).toBe('eins\nzwei\ndrei\nvier\n\n');
    expect(decodeTextPart(Buffer.from('\r\r\n'), plain)).toBe('\n\n');
  });
  it('html without charset parameter takes the meta charset', () => {
    const html = Buffer.concat([Buffer.from('<meta charset="windows-1252"><p>'), Buffer.from([0x80, 0xe4]), Buffer.from('</p>')]);
    expect(decodeTextPart(html, leaf('1', 'text/html'))).toBe('<meta charset="windows-1252"><p>€ä</p>');
  });
  it('unknown charset: valid UTF-8 stays UTF-8, anything else is read as Windows-1252', () => {
    const node = leaf('1', 'text/plain', { parameters: { charset: 'x-unknown' } });
    expect(decodeTextPart(Buffer.from('Grüße'), node)).toBe('Grüße');
    expect(decodeTextPart(Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65]), node)).toBe('Grüße');
  });
});

describe('header helpers', () => {
  it('parses folded header fields and message id lists', () => {
    const fields = parseHeaderBlock(Buffer.from('References: <a@x>\r\n <b@x>\r\n\t<c@x>\r\nList-Id: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= <list.x>\r\nAuto-Submitted: auto-replied\r\n\r\n'));
    expect(messageIdsOf(fields.get('references'))).toEqual(['<a@x>', '<b@x>', '<c@x>']);
    expect(fields.get('auto-submitted')).toBe('auto-replied');
    expect(messageIdsOf('a@x b@y')).toEqual(['<a@x>', '<b@y>']);
  });
  it('snippet collapses whitespace and cuts at 200 characters; falls back to html text', () => {
    expect(snippetOf('  Hallo\r\n\r\n  Welt  ', undefined)).toBe('Hallo Welt');
    expect(snippetOf('x'.repeat(500), undefined)).toHaveLength(200);
    expect(snippetOf(undefined, '<style>p{}</style><p>Hallo&nbsp;<b>Welt</b> &amp; Co</p>')).toBe('Hallo Welt & Co');
  });
});

describe('addresses read from a header field', () => {
  // The plain forms are read without addressparser; they must come out exactly as addressparser reads them.
  const plainForms = [
    'anna@example.de',
    ' anna@example.de ',
    '<anna@example.de>',
    'Anna Berg <anna@example.de>',
    'Anna   Berg<anna@example.de>  ',
    'Anna\tBerg <anna@example.de>',
    'Dr. A. Berg-Müller <a.berg+rechnung@sub.example.de>',
    "Anna O'Neil <ONEIL@EXAMPLE.COM>",
    'Jürgen Köhler <j@k.example>',
    '=?utf-8?Q?K=C3=B6hler?= <j@k.example>',
    '=?utf-8?B?SsO8cmdlbg==?= =?utf-8?Q?_K=C3=B6hler?= <j@k.example>',
    'Anna! #$% <a@b.example>',
    'a@b',
  ];
  it.each(plainForms)('%s: as addressparser reads it', (value) => {
    expect(addressesOf(value)).toEqual(parsedAddresses(value));
  });

  // What the plain reading must leave to addressparser, and what addressparser makes of it.
  it.each([
    ['"Berg, Anna" <anna@example.de>', [{ name: 'Berg, Anna', address: 'anna@example.de' }]],
    ['anna@example.de, bernd@example.de', [{ name: '', address: 'anna@example.de' }, { name: '', address: 'bernd@example.de' }]],
    ['Team: anna@example.de, bernd@example.de;', [{ name: '', address: 'anna@example.de' }, { name: '', address: 'bernd@example.de' }]],
    ['anna@example.de (Anna Berg)', [{ name: 'Anna Berg', address: 'anna@example.de' }]],
    ['Anna <anna@example.de> trailing', [{ name: 'Anna trailing', address: 'anna@example.de' }]],
    ['root', [{ name: '', address: 'root' }]],
    // addressparser would drop the comment here; IMAP servers make it the name
    ['root (Cron Daemon)', [{ name: 'Cron Daemon', address: 'root' }]],
  ])('%s', (value, expected) => {
    expect(addressesOf(value)).toEqual(expected);
  });
});
