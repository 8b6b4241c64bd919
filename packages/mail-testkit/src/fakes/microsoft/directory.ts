/**
 * The tenant of the fake: users (each with a mailbox), app registrations with their credentials
 * and granted permissions, and every code and token handed out.
 */
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { Mailbox } from './mailbox';

export interface FakeUserInit {
  /** user principal name, also the primary SMTP address unless `mail` is given */
  upn: string;
  mail?: string;
  displayName?: string;
  /** for the sign-in page, authorizeAs and ROPC */
  password?: string;
  /** further SMTP addresses (proxyAddresses) the mailbox receives and may send as */
  aliases?: string[];
  id?: string;
  /** a shared mailbox: no sign-in of its own */
  shared?: boolean;
  /** false: a user without an Exchange Online mailbox */
  hasMailbox?: boolean;
}

export interface FakeUser {
  id: string;
  userPrincipalName: string;
  mail: string;
  displayName: string;
  password?: string;
  aliases: string[];
  shared: boolean;
  hasMailbox: boolean;
  /** ids of users allowed to send as this mailbox */
  sendAs: Set<string>;
  /** ids of users with full access to this mailbox */
  fullAccess: Set<string>;
  mailbox: Mailbox;
}

export interface FakeAppInit {
  clientId?: string;
  displayName?: string;
  /** client secret values */
  secrets?: string[];
  /** PEM certificates registered for client assertions */
  certificates?: string[];
  redirectUris?: string[];
  /** "Allow public client flows": ROPC and public-client code redemption without a secret */
  allowPublicClient?: boolean;
  /** application permissions with admin consent (roles in app-only tokens) */
  applicationPermissions?: string[];
  /** delegated permissions with tenant-wide admin consent */
  delegatedPermissions?: string[];
}

export interface FakeApp {
  clientId: string;
  displayName: string;
  secrets: Set<string>;
  certificates: Array<{ pem: string; sha1: string; sha256: string }>;
  redirectUris: Set<string>;
  allowPublicClient: boolean;
  applicationPermissions: Set<string>;
  delegatedPermissions: Set<string>;
  userConsent: Map<string, Set<string>>;
}

export interface AccessTokenRecord {
  token: string;
  kind: 'app' | 'delegated';
  clientId: string;
  userId?: string;
  /** roles (app) or scp (delegated): short Graph names, full URIs for other resources (Outlook IMAP/SMTP) */
  permissions: Set<string>;
  exp: number;
  /** the resource the token is for; absent means Graph */
  aud?: string;
  revoked?: boolean;
}

export interface RefreshTokenRecord {
  token: string;
  clientId: string;
  userId: string;
  scopes: string[];
  state: 'active' | 'rotated' | 'revoked';
}

export interface CodeRecord {
  code: string;
  clientId: string;
  userId: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge?: string;
  codeChallengeMethod?: string;
  nonce?: string;
  used: boolean;
  exp: number;
}

export const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
/** Exchange Online's resource for IMAP, POP and SMTP with OAuth. */
export const OUTLOOK_RESOURCE = 'https://outlook.office.com';
export const OUTLOOK_SCOPE = /^https:\/\/outlook\.office(365)?\.com\/[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+$/i;

/** "https://outlook.office.com/IMAP.AccessAsUser.All" → "IMAP.AccessAsUser.All" (the scp claim's form). */
export function outlookScopeName(scope: string): string {
  return scope.slice(scope.lastIndexOf('/') + 1);
}

/** "https://graph.microsoft.com/Mail.Send" → "Mail.Send"; "openid" stays. */
export function shortScope(scope: string, graphOrigin: string): string {
  for (const prefix of [`${GRAPH_RESOURCE}/`, `${graphOrigin}/`, '00000003-0000-0000-c000-000000000000/']) {
    if (scope.toLowerCase().startsWith(prefix.toLowerCase())) return scope.slice(prefix.length);
  }
  return scope;
}

const lower = (s: string) => s.trim().toLowerCase();

export class Directory {
  readonly tenantId: string;
  readonly domains: string[];
  readonly users = new Map<string, FakeUser>();
  readonly apps = new Map<string, FakeApp>();
  readonly accessTokens = new Map<string, AccessTokenRecord>();
  readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  readonly codes = new Map<string, CodeRecord>();

  constructor(tenantId: string = randomUUID(), domains: string[] = ['contoso.test']) {
    this.tenantId = tenantId;
    this.domains = domains.map(lower);
  }

  /** A tenant path segment: the id, a verified domain, or common / organizations. */
  resolvesTenant(segment: string): boolean {
    const s = lower(segment);
    return s === this.tenantId || this.domains.includes(s) || s === 'common' || s === 'organizations' || this.domains.some((d) => s === d.replace(/\.test$/, '.onmicrosoft.com'));
  }

  addUser(init: FakeUserInit): FakeUser {
    const mail = lower(init.mail ?? init.upn);
    const user: FakeUser = {
      id: init.id ?? randomUUID(),
      userPrincipalName: lower(init.upn),
      mail,
      displayName: init.displayName ?? init.upn.split('@')[0],
      password: init.password,
      aliases: (init.aliases ?? []).map(lower),
      shared: !!init.shared,
      hasMailbox: init.hasMailbox !== false,
      sendAs: new Set(),
      fullAccess: new Set(),
      mailbox: new Mailbox(),
    };
    const domain = mail.split('@')[1];
    if (domain && !this.domains.includes(domain)) this.domains.push(domain);
    this.users.set(user.id, user);
    return user;
  }

  /** By object id, UPN, primary address or alias (case-insensitive). */
  user(ref: string): FakeUser | undefined {
    const byId = this.users.get(ref) ?? this.users.get(lower(ref));
    if (byId) return byId;
    const r = lower(ref);
    return [...this.users.values()].find((u) => u.userPrincipalName === r || u.mail === r || u.aliases.includes(r));
  }

  /** The mailbox an address is delivered to: exact match first, then plus-addressing (`user+tag@`). */
  recipient(address: string): FakeUser | undefined {
    const exact = this.user(address);
    if (exact) return exact;
    const m = /^([^+@]+)\+[^@]*(@.+)$/.exec(lower(address));
    return m ? this.user(m[1] + m[2]) : undefined;
  }

  requireUser(ref: string): FakeUser {
    const user = this.user(ref);
    if (!user) throw new Error(`the fake has no user "${ref}"`);
    return user;
  }

  addApp(init: FakeAppInit = {}): FakeApp {
    const app: FakeApp = {
      clientId: init.clientId ?? randomUUID(),
      displayName: init.displayName ?? 'Mailbridge',
      secrets: new Set(init.secrets ?? []),
      certificates: [],
      redirectUris: new Set(init.redirectUris ?? []),
      allowPublicClient: !!init.allowPublicClient,
      applicationPermissions: new Set(init.applicationPermissions ?? []),
      delegatedPermissions: new Set(init.delegatedPermissions ?? []),
      userConsent: new Map(),
    };
    for (const pem of init.certificates ?? []) this.addCertificate(app, pem);
    this.apps.set(app.clientId, app);
    return app;
  }

  addCertificate(app: FakeApp, pem: string): void {
    const cert = new X509Certificate(pem);
    app.certificates.push({
      pem,
      sha1: cert.fingerprint.replace(/:/g, '').toUpperCase(),
      sha256: createHash('sha256').update(cert.raw).digest('hex').toUpperCase(),
    });
  }

  requireApp(clientId: string): FakeApp {
    const app = this.apps.get(clientId);
    if (!app) throw new Error(`the fake has no app "${clientId}"`);
    return app;
  }

  /** Delegated permissions a user's token may carry: admin consent plus the user's own consent. */
  consentedFor(app: FakeApp, userId: string): Set<string> {
    return new Set([...app.delegatedPermissions, ...(app.userConsent.get(userId) ?? [])]);
  }

  revokeAccessTokens(userId: string): number {
    let n = 0;
    for (const at of this.accessTokens.values()) {
      if (at.userId === userId && !at.revoked) {
        at.revoked = true;
        n++;
      }
    }
    return n;
  }

  revokeRefreshTokens(userId: string): number {
    let n = 0;
    for (const rt of this.refreshTokens.values()) {
      if (rt.userId === userId && rt.state === 'active') {
        rt.state = 'revoked';
        n++;
      }
    }
    return n;
  }
}
