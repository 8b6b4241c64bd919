import type { Application } from '@nocobase/server';

// Secrets of an account (password, client secret, API key, token cache) as one JSON object, encrypted with the
// app's AES key. Only this module reads or writes the `secrets` column.
export type AccountSecrets = Record<string, string>;

export async function encryptSecrets(app: Application, secrets: AccountSecrets): Promise<string | null> {
  const present = Object.fromEntries(Object.entries(secrets).filter(([, v]) => typeof v === 'string' && v !== ''));
  if (!Object.keys(present).length) return null;
  return app.aesEncryptor.encrypt(JSON.stringify(present));
}

export async function decryptSecrets(app: Application, encrypted: string | null | undefined): Promise<AccountSecrets> {
  if (!encrypted) return {};
  return JSON.parse(await app.aesEncryptor.decrypt(encrypted));
}

/**
 * A form sends only the secrets the admin typed: a missing key keeps the stored value, an explicit null clears it.
 */
export function mergeSecrets(
  stored: AccountSecrets,
  incoming: Record<string, string | null | undefined>,
): AccountSecrets {
  const merged: AccountSecrets = { ...stored };
  for (const [key, value] of Object.entries(incoming ?? {})) {
    if (value === null) delete merged[key];
    else if (typeof value === 'string' && value !== '') merged[key] = value;
  }
  return merged;
}

/** Which secrets are set, by name, for the UI's "set / replace" fields. */
export function secretNames(secrets: AccountSecrets): Record<string, boolean> {
  return Object.fromEntries(Object.keys(secrets).map((k) => [k, true]));
}
