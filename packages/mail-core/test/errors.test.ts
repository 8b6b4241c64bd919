import { MailError, redactSecrets, toMailError } from '@mailbridge/mail-core';

// Error objects shaped like what nodemailer, imapflow and node:net produce (see their d.ts files).
describe('toMailError', () => {
  it.each([
    [{ code: 'EAUTH', responseCode: 535, message: 'Invalid login: 535 5.7.8 Error: authentication failed' }, 'AUTH_FAILED', false],
    [Object.assign(new Error('Authentication failed'), { authenticationFailed: true, serverResponseCode: 'AUTHENTICATIONFAILED' }), 'AUTH_FAILED', false],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'HOST_UNREACHABLE', true],
    [{ code: 'ESOCKET', originalCode: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND nowhere.invalid' }, 'HOST_UNREACHABLE', true],
    [{ code: 'EDNS', message: 'queryA ENOTFOUND' }, 'HOST_UNREACHABLE', true],
    [{ code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT', message: 'Connection timeout' }, 'TIMEOUT', true],
    [{ code: 'ECONNRESET', message: 'read ECONNRESET' }, 'CONNECTION_LOST', true],
    [{ code: 'NoConnection', message: 'Connection not available' }, 'CONNECTION_LOST', true],
    [{ code: 'ESOCKET', message: '4017:error:1408F10B:SSL routines:ssl3_get_record:wrong version number' }, 'TLS_MISMATCH', false],
    [{ code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number' }, 'TLS_MISMATCH', false],
    [{ code: 'NotFound', message: "Mailbox doesn't exist: Nope" }, 'MAILBOX_MISSING', false],
    [{ message: 'Command failed', responseText: '[NONEXISTENT] Mailbox does not exist', serverResponseCode: 'NONEXISTENT' }, 'MAILBOX_MISSING', false],
    [{ message: 'Command failed', responseText: '[OVERQUOTA] Quota exceeded (mailbox for user is full)', serverResponseCode: 'OVERQUOTA' }, 'QUOTA_EXCEEDED', false],
    [{ code: 'EMESSAGE', responseCode: 552, message: '552 5.2.2 Mailbox full' }, 'QUOTA_EXCEEDED', false],
    [{ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO', rejected: ['x@y.example'], message: "Can't send mail - all recipients were rejected: 550 5.1.1 User unknown" }, 'RECIPIENT_REJECTED', false],
    [{ code: 'EENVELOPE', responseCode: 421, message: '421 4.7.0 Try again later, rate limit exceeded' }, 'RATE_LIMITED', true],
    [{ code: 'ETHROTTLE', throttleReset: 5000, message: 'Throttling' }, 'RATE_LIMITED', true],
    [{ code: 'EPROTOCOL', responseCode: 554, message: '554 5.6.0 Message rejected' }, 'PROVIDER_ERROR', false],
    [{ message: 'something odd' }, 'PROVIDER_ERROR', true],
  ])('%o → %s', (input, code, retryable) => {
    const err = toMailError(input, { protocol: 'smtp', host: 'mail.example', port: 587, security: 'starttls' });
    expect(err).toBeInstanceOf(MailError);
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(retryable);
    expect(err.hint.length).toBeGreaterThan(10);
  });

  it('a greeting timeout on a non-TLS setting means a TLS port', () => {
    const err = toMailError({ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', message: 'Greeting never received' }, { security: 'starttls', port: 465 });
    expect(err.code).toBe('TLS_MISMATCH');
    expect(err.hint).toMatch(/SSL\/TLS/);
  });

  it('suggests OAuth for Microsoft 365 and app passwords for Gmail', () => {
    expect(toMailError({ code: 'EAUTH', responseCode: 535, message: '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled' }, { host: 'smtp.office365.com' }).hint).toMatch(/OAuth/);
    expect(toMailError({ code: 'EAUTH', responseCode: 535, message: 'Username and Password not accepted' }, { host: 'smtp.gmail.com' }).hint).toMatch(/app password/);
  });

  it('carries retryAfterMs for rate limits', () => {
    expect(toMailError({ code: 'ETHROTTLE', throttleReset: 7000 }).retryAfterMs).toBe(7000);
    expect(toMailError({ statusCode: 429, message: 'Too Many Requests', retryAfterMs: 3000 }).retryAfterMs).toBe(3000);
  });

  it('never repeats a secret in the message', () => {
    const err = toMailError({ code: 'EAUTH', message: 'Invalid login for user with password s3cr3t-PW and AUTH PLAIN AGFubmEAczNjcjN0' }, { secrets: ['s3cr3t-PW'] });
    expect(err.message).not.toContain('s3cr3t-PW');
    expect(err.message).not.toContain('AGFubmEAczNjcjN0');
    expect(JSON.stringify(err)).not.toContain('s3cr3t-PW');
  });

  it('passes a MailError through unchanged', () => {
    const original = new MailError('QUOTA_EXCEEDED', 'full');
    expect(toMailError(original)).toBe(original);
  });

  it('redacts bearer tokens', () => {
    expect(redactSecrets('user=a@b\x01auth=Bearer ya29.abc\x01\x01')).not.toContain('ya29');
  });
});
