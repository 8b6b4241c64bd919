import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, constants, type KeyObject } from 'node:crypto';

export const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export function randomToken(prefix: string, bytes = 32): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

export type Claims = Record<string, unknown>;

export interface DecodedJwt {
  header: Claims;
  payload: Claims;
  signingInput: string;
  signature: Buffer;
}

export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')),
      payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')),
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2], 'base64url'),
    };
  } catch {
    return null;
  }
}

/** The fake's token signing key (RS256), published at the jwks_uri like Entra ID's. */
export class TokenSigner {
  readonly kid: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.kid = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 27);
  }

  sign(payload: Claims): string {
    const header = { typ: 'JWT', alg: 'RS256', kid: this.kid };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    return `${input}.${sign('sha256', Buffer.from(input), this.privateKey).toString('base64url')}`;
  }

  jwks(): { keys: Claims[] } {
    const jwk = this.publicKey.export({ format: 'jwk' }) as Claims;
    return { keys: [{ kty: 'RSA', use: 'sig', kid: this.kid, x5t: this.kid, n: jwk.n, e: jwk.e }] };
  }
}

/**
 * Checks a client assertion the way Entra ID does for certificate credentials: RS256 or PS256,
 * signed by the key of a certificate registered on the app, identified by x5t / x5t#S256.
 */
export function verifyClientAssertion(
  jwt: DecodedJwt,
  certificates: Array<{ pem: string; sha1: string; sha256: string }>,
): { ok: true; certificatePem: string } | { ok: false; reason: 'unknown-key' | 'bad-signature' | 'bad-alg' } {
  const x5t256 = typeof jwt.header['x5t#S256'] === 'string' ? Buffer.from(jwt.header['x5t#S256'] as string, 'base64url').toString('hex').toUpperCase() : undefined;
  const x5t = typeof jwt.header.x5t === 'string' ? Buffer.from(jwt.header.x5t as string, 'base64url').toString('hex').toUpperCase() : undefined;
  const cert = certificates.find((c) => (x5t256 && c.sha256 === x5t256) || (x5t && c.sha1 === x5t));
  if (!cert) return { ok: false, reason: 'unknown-key' };
  const key = createPublicKey(cert.pem);
  const data = Buffer.from(jwt.signingInput);
  let good: boolean;
  if (jwt.header.alg === 'RS256') good = verify('sha256', data, key, jwt.signature);
  else if (jwt.header.alg === 'PS256') {
    good = verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, jwt.signature);
  } else return { ok: false, reason: 'bad-alg' };
  return good ? { ok: true, certificatePem: cert.pem } : { ok: false, reason: 'bad-signature' };
}
