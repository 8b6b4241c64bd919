import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface SelfSignedCert {
  certPath: string;
  keyPath: string;
  /** PEM of the certificate, for clients that want to trust exactly this one (`tls: { ca }`) */
  certPem: string;
}

/** Writes a throwaway self-signed P-256 certificate for `localhost` / 127.0.0.1 into `dir` (needs the openssl CLI). */
export async function makeSelfSignedCert(dir: string): Promise<SelfSignedCert> {
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  const args = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '3650', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ];
  await new Promise<void>((resolve, reject) => {
    execFile('openssl', args, { timeout: 20000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new Error(missing
        ? 'the openssl CLI is needed for the TLS listener of the test dovecot — install it with `apt-get install openssl`'
        : `openssl could not create a self-signed certificate: ${String(stderr).trim() || err.message}`));
    });
  });
  return { certPath, keyPath, certPem: await readFile(certPath, 'utf8') };
}
