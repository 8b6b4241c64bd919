// What a Microsoft 365 account asks Entra ID for. Delegated presets are OAuth scopes the user consents to;
// app-only presets are the application permissions an admin must grant (the token asks for ".default").
export type ScopePreset = 'read' | 'send' | 'read-send';

const DELEGATED: Record<ScopePreset, string[]> = {
  read: ['Mail.Read', 'offline_access', 'User.Read'],
  send: ['Mail.Send', 'offline_access', 'User.Read'],
  'read-send': ['Mail.Read', 'Mail.Send', 'offline_access', 'User.Read'],
};

// SMTP/IMAP with "Microsoft (OAuth)": Exchange Online's own resource, not Graph.
export const OUTLOOK_IMAP_SCOPE = 'https://outlook.office.com/IMAP.AccessAsUser.All';
export const OUTLOOK_SMTP_SCOPE = 'https://outlook.office.com/SMTP.Send';

const APP_ONLY: Record<ScopePreset, string[]> = {
  read: ['Mail.ReadWrite', 'User.Read.All'],
  send: ['Mail.Send', 'User.Read.All'],
  'read-send': ['Mail.Send', 'Mail.ReadWrite', 'User.Read.All'],
};

export function requestedScopes(
  provider: string,
  settings: { scopePreset?: ScopePreset; extraScopes?: string[]; authMethod?: string },
): string[] {
  if (provider === 'smtp-imap' || provider === 'smtp') {
    if (settings.authMethod !== 'microsoft-oauth') return [];
    return provider === 'smtp-imap'
      ? [OUTLOOK_IMAP_SCOPE, OUTLOOK_SMTP_SCOPE, 'offline_access']
      : [OUTLOOK_SMTP_SCOPE, 'offline_access'];
  }
  const table = provider === 'ms365-app' ? APP_ONLY : DELEGATED;
  const preset = table[settings.scopePreset ?? 'read-send'] ?? table['read-send'];
  return [...new Set([...preset, ...(settings.extraScopes ?? []).map((s) => s.trim()).filter(Boolean)])];
}

/** Scopes requested but not granted (offline_access is never listed in a token's scp claim). */
export function missingScopes(requested: string[], granted: string[] | undefined): string[] {
  if (!granted) return [];
  // Entra ID answers Graph scopes by short name and other resources' scopes by full URI
  const name = (s: string) => s.slice(s.lastIndexOf('/') + 1).toLowerCase();
  const have = new Set(granted.map(name));
  return requested.filter((s) => s !== 'offline_access' && !have.has(name(s)));
}
