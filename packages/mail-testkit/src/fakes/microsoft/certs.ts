import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TestCa {
  /** PEM of the throwaway CA: what a client must trust to talk to the fake. */
  caPem: string;
  /** Server certificate for localhost / 127.0.0.1, issued by the CA. */
  certPem: string;
  keyPem: string;
}

export interface ClientCertificate {
  certPem: string;
  /** PKCS#8 PEM of the RSA key (what an app registration's owner keeps). */
  privateKeyPem: string;
  /** Hex SHA-256 of the certificate's DER, as Entra ID shows it. */
  thumbprintSha256: string;
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new Error(missing
        ? 'the openssl CLI is needed for the fake Microsoft 365 server — install it with `apt-get install openssl`'
        : `openssl ${args[0]} failed: ${String(stderr).trim() || err.message}`));
    });
  });
}

async function inTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailbridge-ms-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A CA and a server certificate it signed, for 127.0.0.1 and localhost (P-256 keys, openssl CLI). */
export function makeTestCa(): Promise<TestCa> {
  return inTempDir(async (dir) => {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await openssl([
      'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650', '-subj', '/CN=Mailbridge Test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ], dir);
    await openssl(['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
    await writeFile(path.join(dir, 'server.ext'), [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '',
    ].join('\n'));
    await openssl([
      'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', 'server.pem', '-days', '825', '-sha256', '-extfile', 'server.ext',
    ], dir);
    const [caPem, certPem, keyPem] = await Promise.all(['ca.pem', 'server.pem', 'server.key'].map((f) => readFile(path.join(dir, f), 'utf8')));
    return { caPem, certPem, keyPem };
  });
}

/** A self-signed RSA certificate an app registration can authenticate with (client assertion). */
export function makeClientCertificate(commonName = 'mailbridge-app'): Promise<ClientCertificate> {
  return inTempDir(async (dir) => {
    await openssl([
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'app.key', '-out', 'app.pem', '-days', '365',
      '-subj', `/CN=${commonName}`,
    ], dir);
    const [certPem, privateKeyPem] = await Promise.all(['app.pem', 'app.key'].map((f) => readFile(path.join(dir, f), 'utf8')));
    return { certPem, privateKeyPem, thumbprintSha256: thumbprintSha256(certPem) };
  });
}

export function thumbprintSha256(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toUpperCase();
}
