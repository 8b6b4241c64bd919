// What a Microsoft 365 account asks Entra ID for. Delegated presets are OAuth scopes the user consents to;
// app-only presets are the application permissions an admin must grant (the token asks for ".default").
export type ScopePreset = 'read' | 'send' | 'read-send';

const DELEGATED: Record<ScopePreset, string[]> = {
  read: ['Mail.Read', 'offline_access', 'User.Read'],
  send: ['Mail.Send', 'offline_access', 'User.Read'],
  'read-send': ['Mail.Read', 'Mail.Send', 'offline_access', 'User.Read'],
};

const APP_ONLY: Record<ScopePreset, string[]> = {
  read: ['Mail.ReadWrite', 'User.Read.All'],
  send: ['Mail.Send', 'User.Read.All'],
  'read-send': ['Mail.Send', 'Mail.ReadWrite', 'User.Read.All'],
};

export function requestedScopes(
  provider: string,
  settings: { scopePreset?: ScopePreset; extraScopes?: string[] },
): string[] {
  const table = provider === 'ms365-app' ? APP_ONLY : DELEGATED;
  const preset = table[settings.scopePreset ?? 'read-send'] ?? table['read-send'];
  return [...new Set([...preset, ...(settings.extraScopes ?? []).map((s) => s.trim()).filter(Boolean)])];
}

/** Scopes requested but not granted (offline_access is never listed in a token's scp claim). */
export function missingScopes(requested: string[], granted: string[] | undefined): string[] {
  if (!granted) return [];
  const have = new Set(granted.map((s) => s.toLowerCase()));
  return requested.filter((s) => s !== 'offline_access' && !have.has(s.toLowerCase()));
}
