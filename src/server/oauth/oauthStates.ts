import { createHash, randomBytes } from 'crypto';
import type { Application } from '@nocobase/server';

const STATE_TTL_MS = 10 * 60 * 1000;

export interface PendingConnect {
  accountId: string;
  userId?: string | number;
  verifier: string;
  nonce?: string;
  redirectUri: string;
}

const hash = (state: string) => createHash('sha256').update(state).digest('hex');

// Random, single-use, short-lived states: only the hash is stored, the verifier is encrypted, and taking a
// state marks it used in the same conditional update, so a replayed or forged callback finds nothing.
export class OAuthStates {
  constructor(private app: Application) {}

  private get model() {
    return this.app.db.getModel('mailOAuthStates');
  }

  newState(): string {
    return randomBytes(32).toString('base64url');
  }

  async save(state: string, pending: PendingConnect) {
    await this.model.create({
      stateHash: hash(state),
      accountId: pending.accountId,
      userId: pending.userId ?? null,
      verifier: await this.app.aesEncryptor.encrypt(pending.verifier),
      nonce: pending.nonce ?? null,
      redirectUri: pending.redirectUri,
      expiresAt: new Date(Date.now() + STATE_TTL_MS),
    });
  }

  /** The pending connect of a state, consumed; null for unknown, expired or already used states. */
  async take(state: string): Promise<PendingConnect | null> {
    if (!state || typeof state !== 'string') return null;
    const row: any = await this.model.findOne({ where: { stateHash: hash(state) } });
    if (!row || row.get('usedAt') || new Date(row.get('expiresAt')).getTime() < Date.now()) return null;
    const [taken] = await this.model.update({ usedAt: new Date() }, { where: { id: row.get('id'), usedAt: null } });
    if (taken !== 1) return null;
    return {
      accountId: String(row.get('accountId')),
      userId: row.get('userId') ?? undefined,
      verifier: await this.app.aesEncryptor.decrypt(row.get('verifier')),
      nonce: row.get('nonce') ?? undefined,
      redirectUri: row.get('redirectUri'),
    };
  }
}
