import type { Application } from '@nocobase/server';
import { decryptSecrets, secretNames } from './accountSecrets';

// The shape of an account that may leave the server: the encrypted column is dropped (it is a hidden field, so
// toJSON() omits it anyway) and replaced by the names of the secrets that are set.
export async function toPublicAccount(app: Application, model: any) {
  const { secrets: _dropped, syncLeaseOwner: _owner, ...rest } = model.toJSON();
  return { ...rest, secretsSet: secretNames(await decryptSecrets(app, model.get('secrets'))) };
}
