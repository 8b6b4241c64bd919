import { freePort, makeMessage, startDovecot, type Dovecot } from '@mailbridge/mail-testkit';
import { createSource, type AccountConfig, type MailSource, type SmtpImapAccountConfig } from '@mailbridge/mail-core';
import { ALICE, FolderStore, accountFor, expectMailError } from './helpers';

let dc: Dovecot;
let account: SmtpImapAccountConfig;
const open: MailSource[] = [];

function source(config: AccountConfig = account): MailSource {
  const s = createSource(config);
  open.push(s);
  return s;
}

beforeAll(async () => {
  dc = await startDovecot({ users: [ALICE], tls: true, quotaBytes: 64 * 1024 });
  account = accountFor(dc);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await dc?.destroy();
});

describe('IMAP errors become MailErrors', () => {
  it('wrong password → AUTH_FAILED, not retryable, password not in the message', async () => {
    const err = await expectMailError(source({ ...account, auth: { method: 'password', password: 'wrong-secret-123' } }).listFolders(), 'AUTH_FAILED');
    expect(err.retryable).toBe(false);
    expect(err.hint).toMatch(/user name and password/);
    expect(err.message).not.toContain('wrong-secret-123');
  });

  it('connection refused → HOST_UNREACHABLE', async () => {
    const port = await freePort();
    const err = await expectMailError(source({ ...account, imap: { host: '127.0.0.1', port, security: 'none' } }).listFolders(), 'HOST_UNREACHABLE');
    expect(err.retryable).toBe(true);
  });

  it('a plaintext client on the TLS port → TLS_MISMATCH', async () => {
    expect(dc.imapsPort).toBeDefined();
    const err = await expectMailError(
      source({ ...account, imap: { host: dc.host, port: dc.imapsPort!, security: 'none', timeouts: { greetingMs: 1500 } } }).listFolders(),
      'TLS_MISMATCH',
    );
    expect(err.hint).toMatch(/SSL\/TLS/);
  });

  it('a TLS client on the plaintext port → TLS_MISMATCH', async () => {
    const err = await expectMailError(source({ ...account, imap: { host: dc.host, port: dc.imapPort, security: 'ssl' } }).listFolders(), 'TLS_MISMATCH');
    expect(err.hint).toMatch(/STARTTLS/);
  });

  it('an untrusted certificate → TLS_MISMATCH with a certificate hint; allowInvalidCertificate connects', async () => {
    const tlsImap = { host: dc.host, port: dc.imapsPort!, security: 'ssl' as const };
    const err = await expectMailError(source({ ...account, imap: tlsImap }).listFolders(), 'TLS_MISMATCH');
    expect(err.hint).toMatch(/certificate/);
    const folders = await source({ ...account, imap: { ...tlsImap, allowInvalidCertificate: true } }).listFolders();
    expect(folders.map((f) => f.path)).toContain('INBOX');
  });

  it('STARTTLS on the plain port upgrades (and refuses the untrusted certificate unless allowed)', async () => {
    const starttls = { host: dc.host, port: dc.imapPort, security: 'starttls' as const };
    await expectMailError(source({ ...account, imap: starttls }).listFolders(), 'TLS_MISMATCH');
    const folders = await source({ ...account, imap: { ...starttls, allowInvalidCertificate: true } }).listFolders();
    expect(folders.map((f) => f.path)).toContain('INBOX');
  });

  it('a folder that does not exist → MAILBOX_MISSING', async () => {
    const store = new FolderStore();
    const err = await expectMailError(store.sync(source(), 'Does/Not/Exist'), 'MAILBOX_MISSING');
    expect(err.retryable).toBe(false);
    await expectMailError(source().downloadAttachment('Nope', '1', '2'), 'MAILBOX_MISSING');
  });

  it('appending beyond the quota → QUOTA_EXCEEDED', async () => {
    const big = makeMessage(1, { bodyBytes: 200 * 1024 });
    const err = await expectMailError(source().appendToFolder('sent', big), 'QUOTA_EXCEEDED');
    expect(err.hint).toMatch(/full/);
  });
});
