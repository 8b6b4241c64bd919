import net from 'node:net';
import { freePort, makeMessage } from '@mailbridge/mail-testkit';

function split(raw: Buffer): { headers: string; body: string } {
  const text = raw.toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  return { headers: text.slice(0, end), body: text.slice(end + 4) };
}

test('makeMessage is deterministic and RFC 5322 shaped', () => {
  const a = makeMessage(3);
  expect(makeMessage(3).equals(a)).toBe(true);
  expect(makeMessage(4).equals(a)).toBe(false);
  const { headers } = split(a);
  expect(headers).toContain('From: Sender 3 <sender3@example.test>');
  expect(headers).toContain('To: alice@example.test');
  expect(headers).toContain('Subject: Test message 3');
  expect(headers).toContain('Date: Mon, 01 Jan 2024 00:03:00 +0000');
  expect(headers).toContain('Message-ID: <test-3@mailbridge.test>');
  // CRLF everywhere, no bare LF, no line over 998 characters
  expect(a.toString('latin1').replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  for (const line of a.toString('latin1').split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
});

test('makeMessage options: exact body size, threading headers, encoded subject', () => {
  const raw = makeMessage(1, {
    bodyBytes: 5000,
    messageId: 'reply-1@x.test',
    inReplyTo: '<parent@x.test>',
    subject: 'Grüße zum Vorgang 4711',
    from: 'Jörg <joerg@example.test>',
    date: new Date('2025-03-04T05:06:07Z'),
  });
  const { headers, body } = split(raw);
  expect(Buffer.byteLength(body)).toBe(5000);
  expect(body.endsWith('\r\n')).toBe(true);
  expect(headers).toContain('Message-ID: <reply-1@x.test>');
  expect(headers).toContain('In-Reply-To: <parent@x.test>');
  expect(headers).toContain('References: <parent@x.test>');
  expect(headers).toContain('Date: Tue, 04 Mar 2025 05:06:07 +0000');
  expect(headers).toMatch(/^Subject: =\?UTF-8\?B\?/m);
  expect(headers).toMatch(/^From: =\?UTF-8\?B\?[^?]+\?= <joerg@example\.test>$/m);
  expect(Buffer.from(/Subject: =\?UTF-8\?B\?([^?]+)\?=/.exec(headers)![1], 'base64').toString('utf8')).toBe(
    'Grüße zum Vorgang 4711',
  );
  expect(makeMessage(1, { bodyBytes: 0 }).toString().endsWith('\r\n\r\n')).toBe(true);
});

test('makeMessage attachments: multipart/mixed with base64 parts', () => {
  const content = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
  const raw = makeMessage(9, {
    attachments: [
      { filename: 'report.pdf', content, contentType: 'application/pdf' },
      { filename: 'Übersicht.txt', content: Buffer.from('hallo') },
    ],
  }).toString('utf8');
  expect(raw).toContain('Content-Type: multipart/mixed; boundary="----=_mailbridge_9"');
  expect(raw).toContain('Content-Type: application/pdf; name="report.pdf"');
  expect(raw).toContain('Content-Disposition: attachment; filename="report.pdf"');
  expect(raw).toContain("filename*=UTF-8''%C3%9Cbersicht.txt");
  const b64 = /filename="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n([\s\S]*?)\r\n--/.exec(raw)![1];
  expect(Buffer.from(b64.replace(/\r\n/g, ''), 'base64').equals(content)).toBe(true);
  expect(raw.trimEnd().endsWith('------=_mailbridge_9--')).toBe(true);
});

test('freePort gives a bindable port', async () => {
  const port = await freePort();
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  server.close();
  expect(port).toBeGreaterThan(0);
});
