/**
 * Entra ID (v2.0 endpoints) of the fake: OpenID configuration, keys, the authorize page, the token
 * endpoint with client credentials (secret or certificate), authorization code + PKCE, refresh
 * tokens with rotation and revocation, and ROPC; errors in Entra's JSON shape with AADSTS codes.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt, randomToken, verifyClientAssertion, type TokenSigner } from './jwt';
import { OIDC_SCOPES, OUTLOOK_RESOURCE, OUTLOOK_SCOPE, outlookScopeName, shortScope, type Directory, type FakeApp, type FakeUser } from './directory';
import { aadErrorBody, escapeHtml, readBody, sendHtml, sendJson, type AadErrorBody } from './http';

export interface TokenRequestRecord {
  at: number;
  grantType: string;
  clientId: string;
  ok: boolean;
  error?: string;
  aadsts?: number;
}

export interface AuthorizeOptions {
  /** The user accepts the consent prompt for scopes nobody consented to yet (default true). */
  consent?: boolean;
  /** Checked when given; authorizeAs signs in without a password otherwise. */
  password?: string;
}

export interface AuthorizeResult {
  /** Where the browser is sent: redirect_uri with code and state, or with error. */
  redirectUrl: string;
  code?: string;
  state?: string;
  error?: string;
  errorDescription?: string;
}

export interface EntraSettings {
  accessTokenLifetimeSeconds: number;
  refreshTokenLifetimeSeconds: number;
}

class OAuthFailure extends Error {
  constructor(readonly status: number, readonly body: AadErrorBody) {
    super(body.error_description);
  }
}

const fail = (status: number, error: string, aadsts: number, text: string, suberror?: string): never => {
  throw new OAuthFailure(status, aadErrorBody(error, aadsts, text, suberror));
};

/** Shown on Entra's own page, never redirected (bad client id or redirect URI). */
export class AuthorizePageError extends Error {}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const RESOURCE_SCOPE = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+$/;

/**
 * Not an Entra ID endpoint: RFC 7662 token introspection for local IMAP/SMTP servers (dovecot's oauth2 passdb,
 * the SMTP sink), which cannot ask Exchange Online whether a token is good.
 */
export const INTROSPECTION_PATH = '/_fake/oauth2/introspect';
export const DEFAULT_INTROSPECTION_SCOPE = 'IMAP.AccessAsUser.All';

export class Entra {
  readonly tokenRequests: TokenRequestRecord[] = [];

  constructor(
    private readonly dir: Directory,
    private readonly signer: TokenSigner,
    private readonly origin: () => string,
    readonly settings: EntraSettings,
  ) {}

  issuer(): string {
    return `${this.origin()}/${this.dir.tenantId}/v2.0`;
  }

  openIdConfiguration(tenantSegment: string): Record<string, unknown> {
    const o = this.origin();
    const t = tenantSegment;
    return {
      token_endpoint: `${o}/${t}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${o}/${t}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: ['common', 'organizations'].includes(t.toLowerCase()) ? `${o}/{tenantid}/v2.0` : this.issuer(),
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${o}/oidc/userinfo`,
      authorization_endpoint: `${o}/${t}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${o}/${t}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${o}/${t}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      kerberos_endpoint: `${o}/${t}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: new URL(o).host,
      rbac_url: 'https://pas.windows.net',
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, segments: string[]): Promise<boolean> {
    if (url.pathname === INTROSPECTION_PATH) {
      await this.introspectRequest(req, res, url);
      return true;
    }
    const [tenant, ...rest] = segments;
    const path = rest.join('/');
    const known = ['v2.0/.well-known/openid-configuration', 'discovery/v2.0/keys', 'oauth2/v2.0/authorize', 'oauth2/v2.0/token', 'v2.0/adminconsent', 'adminconsent'];
    if (!tenant || !known.includes(path)) return false;
    if (!this.dir.resolvesTenant(tenant)) {
      sendJson(res, 400, aadErrorBody('invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`));
      return true;
    }
    if (path === 'v2.0/.well-known/openid-configuration') sendJson(res, 200, this.openIdConfiguration(tenant));
    else if (path === 'discovery/v2.0/keys') sendJson(res, 200, this.signer.jwks());
    else if (path === 'oauth2/v2.0/token') await this.token(req, res);
    else if (path === 'oauth2/v2.0/authorize') await this.authorizePage(req, res, url);
    else await this.adminConsentPage(req, res, url);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // authorize

  private scopesOf(param: string | null): string[] {
    const graphOrigin = this.origin();
    return (param ?? '').split(/\s+/).filter(Boolean).map((s) => shortScope(s, graphOrigin));
  }

  /** What the sign-in page does once the user is known: validate, consent, issue a code. */
  authorize(paramsIn: URLSearchParams | Record<string, string> | string, userRef: string, opts: AuthorizeOptions = {}): AuthorizeResult {
    const params = typeof paramsIn === 'string'
      ? new URL(paramsIn, this.origin()).searchParams
      : paramsIn instanceof URLSearchParams ? paramsIn : new URLSearchParams(paramsIn);
    const clientId = params.get('client_id') ?? '';
    const app = this.dir.apps.get(clientId);
    if (!app) throw new AuthorizePageError(`AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${this.dir.tenantId}'.`);
    const redirectUri = params.get('redirect_uri') ?? '';
    if (!app.redirectUris.has(redirectUri)) {
      throw new AuthorizePageError(`AADSTS50011: The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'.`);
    }
    const state = params.get('state') ?? undefined;
    const responseMode = params.get('response_mode') ?? 'query';
    const redirect = (fields: Record<string, string | undefined>): string => {
      const u = new URL(redirectUri);
      const target = responseMode === 'fragment' ? new URLSearchParams() : u.searchParams;
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) target.set(k, v);
      if (responseMode === 'fragment') u.hash = target.toString();
      return u.toString();
    };
    const error = (code: string, aadsts: number, text: string): AuthorizeResult => {
      const description = `AADSTS${aadsts}: ${text}`;
      return { redirectUrl: redirect({ error: code, error_description: description, state }), error: code, errorDescription: description, state };
    };
    if (params.get('response_type') !== 'code') return error('unsupported_response_type', 900144, "The request body must contain the following parameter: 'response_type' with the value 'code'.");
    const challenge = params.get('code_challenge') ?? undefined;
    const method = params.get('code_challenge_method') ?? (challenge ? 'plain' : undefined);
    if (challenge && method !== 'S256' && method !== 'plain') return error('invalid_request', 501491, `Invalid code_challenge_method '${method}'.`);
    const user = this.dir.user(userRef);
    if (!user || user.shared) return error('access_denied', 50034, `The user account ${userRef} does not exist in the ${this.dir.tenantId} directory.`);
    if (opts.password !== undefined && opts.password !== user.password) return error('access_denied', 50126, 'Error validating credentials due to invalid username or password.');
    const scopes = this.scopesOf(params.get('scope'));
    const bad = scopes.find((s) => !OIDC_SCOPES.has(s) && s !== '.default' && !RESOURCE_SCOPE.test(s) && !OUTLOOK_SCOPE.test(s));
    if (bad) return error('invalid_scope', 70011, `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${bad} is not valid.`);
    const outlook = scopes.filter((s) => OUTLOOK_SCOPE.test(s));
    if (outlook.length && outlook.length !== scopes.filter((s) => !OIDC_SCOPES.has(s)).length) {
      return error('invalid_scope', 28000, 'Provide value for the input parameter scope which can only contain scopes from one resource.');
    }
    const consented = this.dir.consentedFor(app, user.id);
    const resourceScopes = scopes.filter((s) => !OIDC_SCOPES.has(s));
    const wanted = resourceScopes.includes('.default') ? [...consented] : resourceScopes;
    const missing = wanted.filter((s) => !consented.has(s));
    if (missing.length) {
      if (opts.consent === false) {
        return error('consent_required', 65001, `The user or administrator has not consented to use the application with ID '${app.clientId}' named '${app.displayName}'. Send an interactive authorization request for this user and resource.`);
      }
      const own = app.userConsent.get(user.id) ?? new Set<string>();
      for (const s of missing) own.add(s);
      app.userConsent.set(user.id, own);
    }
    const code = randomToken('1.AQ', 48);
    this.dir.codes.set(code, {
      code,
      clientId,
      userId: user.id,
      redirectUri,
      scopes: [...scopes.filter((s) => OIDC_SCOPES.has(s)), ...wanted],
      codeChallenge: challenge,
      codeChallengeMethod: challenge ? method : undefined,
      nonce: params.get('nonce') ?? undefined,
      used: false,
      exp: nowSeconds() + 600,
    });
    return { redirectUrl: redirect({ code, state, session_state: randomUUID() }), code, state };
  }

  private async authorizePage(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method === 'POST') {
      const form = new URLSearchParams((await readBody(req, 1024 * 1024)).toString('utf8'));
      const params = new URLSearchParams(form.get('request') ?? '');
      try {
        const result = this.authorize(params, form.get('login') ?? '', { password: form.get('passwd') ?? '', consent: form.get('consent') !== 'no' });
        res.writeHead(302, { Location: result.redirectUrl, 'Content-Length': '0' });
        res.end();
      } catch (err) {
        sendHtml(res, 400, `<!doctype html><title>Sign in</title><p>${escapeHtml((err as Error).message)}</p>`);
      }
      return;
    }
    const clientId = url.searchParams.get('client_id') ?? '';
    const app = this.dir.apps.get(clientId);
    if (!app) {
      sendHtml(res, 400, `<!doctype html><title>Sign in</title><p>AADSTS700016: Application with identifier '${escapeHtml(clientId)}' was not found in the directory.</p>`);
      return;
    }
    const hint = url.searchParams.get('login_hint') ?? '';
    sendHtml(res, 200, `<!doctype html><html><head><title>Sign in to your account</title></head><body>
<h1>Sign in</h1><p>${escapeHtml(app.displayName)} wants to access your mailbox.</p>
<form method="post" action="${escapeHtml(url.pathname)}">
<input type="hidden" name="request" value="${escapeHtml(url.searchParams.toString())}">
<label>Email <input name="login" type="email" value="${escapeHtml(hint)}" autocomplete="username"></label>
<label>Password <input name="passwd" type="password" autocomplete="current-password"></label>
<label><input type="checkbox" name="consent" value="yes" checked> Accept the requested permissions</label>
<button type="submit" id="idSIButton9">Sign in</button>
</form></body></html>`);
  }

  private async adminConsentPage(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const result = this.adminConsent(url.searchParams);
    res.writeHead(302, { Location: result, 'Content-Length': '0' });
    res.end();
    void req;
  }

  /** An admin accepts the app's requested permissions for the tenant; returns the redirect. */
  adminConsent(params: URLSearchParams, permissions?: { application?: string[]; delegated?: string[] }): string {
    const app = this.dir.apps.get(params.get('client_id') ?? '');
    const redirectUri = params.get('redirect_uri') ?? '';
    if (!app || !app.redirectUris.has(redirectUri)) throw new AuthorizePageError('AADSTS50011: The redirect URI does not match the redirect URIs configured for the application.');
    for (const p of permissions?.application ?? []) app.applicationPermissions.add(p);
    for (const p of permissions?.delegated ?? []) app.delegatedPermissions.add(p);
    const u = new URL(redirectUri);
    u.searchParams.set('admin_consent', 'True');
    u.searchParams.set('tenant', this.dir.tenantId);
    const state = params.get('state');
    if (state) u.searchParams.set('state', state);
    return u.toString();
  }

  // -------------------------------------------------------------------------------------------
  // token

  private async token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams((await readBody(req, 1024 * 1024)).toString('utf8'));
    const grantType = form.get('grant_type') ?? '';
    let clientId = form.get('client_id') ?? '';
    const assertion = form.get('client_assertion');
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
    let basicSecret: string | undefined;
    if (basic) {
      const [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      clientId = clientId || decodeURIComponent(id);
      basicSecret = decodeURIComponent(secret ?? '');
    }
    const record: TokenRequestRecord = { at: Date.now(), grantType, clientId, ok: false };
    this.tokenRequests.push(record);
    try {
      const app = this.dir.apps.get(clientId);
      if (!app) {
        fail(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${this.dir.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
      }
      const confidential = this.authenticateClient(app as FakeApp, form.get('client_secret') ?? basicSecret, assertion, req);
      let body: Record<string, unknown>;
      if (grantType === 'client_credentials') body = this.clientCredentials(app as FakeApp, form, confidential);
      else if (grantType === 'authorization_code') body = this.authorizationCode(app as FakeApp, form, confidential);
      else if (grantType === 'refresh_token') body = this.refreshToken(app as FakeApp, form, confidential);
      else if (grantType === 'password') body = this.password(app as FakeApp, form, confidential);
      else body = fail(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);
      record.ok = true;
      sendJson(res, 200, body, { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' });
    } catch (err) {
      if (!(err instanceof OAuthFailure)) throw err;
      record.error = err.body.error;
      record.aadsts = err.body.error_codes[0];
      sendJson(res, err.status, err.body, { 'Cache-Control': 'no-store, no-cache' });
    }
  }

  /** true when the client proved who it is (secret or certificate). */
  private authenticateClient(app: FakeApp, secret: string | undefined, assertion: string | null, req: IncomingMessage): boolean {
    if (secret !== undefined && secret !== '') {
      if (!app.secrets.has(secret)) {
        fail(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`);
      }
      return true;
    }
    if (assertion) {
      const jwt = decodeJwt(assertion);
      if (!jwt) return fail(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
      const verdict = verifyClientAssertion(jwt, app.certificates);
      if (!verdict.ok) {
        if (verdict.reason === 'unknown-key') {
          fail(401, 'invalid_client', 700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(jwt.header['x5t#S256'] ?? jwt.header.x5t)}']`);
        }
        fail(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
      }
      const p = jwt.payload;
      const now = nowSeconds();
      if (typeof p.exp !== 'number' || p.exp < now || (typeof p.nbf === 'number' && p.nbf > now + 300)) {
        fail(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
      }
      if (p.iss !== app.clientId || p.sub !== app.clientId) fail(401, 'invalid_client', 700021, 'Client assertion application identifier doesn\'t match \'client_id\' parameter.');
      const audience = `${this.origin()}${(req.url ?? '').split('?')[0]}`;
      const aud = String(p.aud ?? '').split('?')[0];
      if (aud !== audience && aud !== `${this.origin()}/${this.dir.tenantId}/oauth2/v2.0/token`) {
        fail(401, 'invalid_client', 700212, `No matching federated identity record found for presented assertion audience '${aud}'.`);
      }
      return true;
    }
    return false;
  }

  private requireConfidential(app: FakeApp, confidential: boolean, publicAllowed: boolean): void {
    if (confidential) return;
    if (publicAllowed && app.allowPublicClient) return;
    fail(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }

  private clientCredentials(app: FakeApp, form: URLSearchParams, confidential: boolean): Record<string, unknown> {
    this.requireConfidential(app, confidential, false);
    const scope = (form.get('scope') ?? '').trim();
    const scopes = scope.split(/\s+/).filter(Boolean);
    const graphs = ['https://graph.microsoft.com', this.origin(), '00000003-0000-0000-c000-000000000000'].map((g) => `${g}/.default`.toLowerCase());
    if (scopes.length !== 1 || !graphs.includes(scopes[0].toLowerCase())) {
      fail(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    const exp = nowSeconds() + this.settings.accessTokenLifetimeSeconds;
    const roles = [...app.applicationPermissions];
    const accessToken = this.signer.sign({
      aud: 'https://graph.microsoft.com',
      iss: `https://sts.windows.net/${this.dir.tenantId}/`,
      iat: nowSeconds(),
      nbf: nowSeconds(),
      exp,
      aio: randomToken('E2', 24),
      app_displayname: app.displayName,
      appid: app.clientId,
      appidacr: '1',
      idp: `https://sts.windows.net/${this.dir.tenantId}/`,
      idtyp: 'app',
      oid: createHash('sha256').update(`sp:${app.clientId}`).digest('hex').slice(0, 32),
      ...(roles.length ? { roles } : {}),
      sub: createHash('sha256').update(`sp:${app.clientId}`).digest('hex').slice(0, 32),
      tenant_region_scope: 'EU',
      tid: this.dir.tenantId,
      uti: randomToken('', 16),
      ver: '1.0',
    });
    this.dir.accessTokens.set(accessToken, { token: accessToken, kind: 'app', clientId: app.clientId, permissions: new Set(roles), exp });
    return { token_type: 'Bearer', expires_in: this.settings.accessTokenLifetimeSeconds, ext_expires_in: this.settings.accessTokenLifetimeSeconds, access_token: accessToken };
  }

  private authorizationCode(app: FakeApp, form: URLSearchParams, confidential: boolean): Record<string, unknown> {
    const code = this.dir.codes.get(form.get('code') ?? '');
    if (!code || code.clientId !== app.clientId) {
      fail(400, 'invalid_grant', 9002313, "Invalid request. Request is malformed or invalid. The provided value for the 'code' parameter is not valid.");
    }
    const c = code as NonNullable<typeof code>;
    if (c.used) fail(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.');
    if (c.exp < nowSeconds()) fail(400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.');
    this.requireConfidential(app, confidential, true);
    if ((form.get('redirect_uri') ?? '') !== c.redirectUri) {
      fail(400, 'invalid_grant', 500112, `The reply address '${form.get('redirect_uri') ?? ''}' does not match the reply address '${c.redirectUri}' provided when requesting Authorization code.`);
    }
    if (c.codeChallenge) {
      const verifier = form.get('code_verifier') ?? '';
      const computed = c.codeChallengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
      if (!verifier || computed !== c.codeChallenge) {
        c.used = true;
        fail(400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.');
      }
    }
    c.used = true;
    const user = this.dir.users.get(c.userId) as FakeUser;
    return this.userTokens(app, user, c.scopes, c.nonce);
  }

  private refreshToken(app: FakeApp, form: URLSearchParams, confidential: boolean): Record<string, unknown> {
    const rt = this.dir.refreshTokens.get(form.get('refresh_token') ?? '');
    if (!rt || rt.clientId !== app.clientId) fail(400, 'invalid_grant', 9002313, "Invalid request. Request is malformed or invalid. The provided value for the 'refresh_token' parameter is not valid.");
    const r = rt as NonNullable<typeof rt>;
    this.requireConfidential(app, confidential, true);
    if (r.state === 'revoked') {
      fail(400, 'invalid_grant', 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on an earlier date and the TokensValidFrom date (before which tokens are not valid) for this user is later.");
    }
    if (r.state === 'rotated') {
      fail(400, 'invalid_grant', 700082, 'The refresh token has expired due to inactivity or was already redeemed. The token was issued on an earlier date and was replaced by a newer refresh token.');
    }
    const user = this.dir.users.get(r.userId) as FakeUser;
    const requested = this.scopesOf(form.get('scope'));
    const consented = this.dir.consentedFor(app, user.id);
    let resource = requested.filter((s) => !OIDC_SCOPES.has(s));
    if (resource.includes('.default')) resource = [...consented];
    const missing = resource.filter((s) => !consented.has(s));
    if (missing.length) {
      fail(400, 'invalid_grant', 65001, `The user or administrator has not consented to use the application with ID '${app.clientId}' named '${app.displayName}'. Send an interactive authorization request for this user and resource.`, 'consent_required');
    }
    if (!resource.length) resource = r.scopes.filter((s) => !OIDC_SCOPES.has(s));
    r.state = 'rotated';
    const oidc = [...new Set([...requested, ...r.scopes].filter((s) => OIDC_SCOPES.has(s)))];
    return this.userTokens(app, user, [...oidc, ...resource], undefined);
  }

  private password(app: FakeApp, form: URLSearchParams, confidential: boolean): Record<string, unknown> {
    this.requireConfidential(app, confidential, true);
    const user = this.dir.user(form.get('username') ?? '');
    if (!user || user.shared || !user.password || user.password !== form.get('password')) {
      fail(400, 'invalid_grant', 50126, 'Error validating credentials due to invalid username or password.');
    }
    const u = user as FakeUser;
    const scopes = this.scopesOf(form.get('scope'));
    const consented = this.dir.consentedFor(app, u.id);
    let resource = scopes.filter((s) => !OIDC_SCOPES.has(s));
    if (resource.includes('.default')) resource = [...consented];
    if (resource.some((s) => !consented.has(s))) {
      fail(400, 'invalid_grant', 65001, `The user or administrator has not consented to use the application with ID '${app.clientId}' named '${app.displayName}'. Send an interactive authorization request for this user and resource.`, 'consent_required');
    }
    return this.userTokens(app, u, [...scopes.filter((s) => OIDC_SCOPES.has(s)), ...resource], undefined);
  }

  private userTokens(app: FakeApp, user: FakeUser, scopes: string[], nonce: string | undefined): Record<string, unknown> {
    const now = nowSeconds();
    const exp = now + this.settings.accessTokenLifetimeSeconds;
    const resource = [...new Set(scopes.filter((s) => !OIDC_SCOPES.has(s)))];
    const oidc = new Set(scopes.filter((s) => OIDC_SCOPES.has(s)));
    const sub = createHash('sha256').update(`${user.id}:${app.clientId}`).digest('base64url').slice(0, 43);
    const forOutlook = resource.some((s) => OUTLOOK_SCOPE.test(s));
    const accessToken = this.signer.sign({
      aud: forOutlook ? OUTLOOK_RESOURCE : 'https://graph.microsoft.com',
      iss: `https://sts.windows.net/${this.dir.tenantId}/`,
      iat: now,
      nbf: now,
      exp,
      acct: 0,
      acr: '1',
      amr: ['pwd'],
      app_displayname: app.displayName,
      appid: app.clientId,
      appidacr: app.secrets.size || app.certificates.length ? '1' : '0',
      idtyp: 'user',
      name: user.displayName,
      oid: user.id,
      scp: (forOutlook ? resource.map(outlookScopeName) : resource).join(' '),
      sub,
      tid: this.dir.tenantId,
      unique_name: user.userPrincipalName,
      upn: user.userPrincipalName,
      uti: randomToken('', 16),
      ver: '1.0',
    });
    this.dir.accessTokens.set(accessToken, {
      token: accessToken,
      kind: 'delegated',
      clientId: app.clientId,
      userId: user.id,
      permissions: new Set(resource),
      exp,
      ...(forOutlook ? { aud: OUTLOOK_RESOURCE } : {}),
    });
    const body: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: [...resource, ...[...oidc].filter((s) => s !== 'offline_access')].join(' '),
      expires_in: this.settings.accessTokenLifetimeSeconds,
      ext_expires_in: this.settings.accessTokenLifetimeSeconds,
      access_token: accessToken,
    };
    if (oidc.has('offline_access')) {
      const token = randomToken('1.AQ.refresh.', 64);
      this.dir.refreshTokens.set(token, { token, clientId: app.clientId, userId: user.id, scopes: [...oidc, ...resource], state: 'active' });
      body.refresh_token = token;
      body.refresh_token_expires_in = this.settings.refreshTokenLifetimeSeconds;
    }
    if (oidc.has('openid')) {
      body.id_token = this.signer.sign({
        aud: app.clientId,
        iss: this.issuer(),
        iat: now,
        nbf: now,
        exp: now + 3600,
        name: user.displayName,
        oid: user.id,
        preferred_username: user.userPrincipalName,
        ...(oidc.has('email') ? { email: user.mail } : {}),
        rh: randomToken('0.A', 24),
        sub,
        tid: this.dir.tenantId,
        uti: randomToken('', 16),
        ver: '2.0',
        ...(nonce ? { nonce } : {}),
      });
      body.client_info = Buffer.from(JSON.stringify({ uid: user.id, utid: this.dir.tenantId })).toString('base64url');
    }
    return body;
  }

  // -------------------------------------------------------------------------------------------
  // introspection (fake only)

  /** RFC 7662: active only for a known, unexpired, unrevoked delegated Outlook token carrying `requiredScope`. */
  introspect(token: string, requiredScope: string = DEFAULT_INTROSPECTION_SCOPE): Record<string, unknown> {
    const record = this.dir.accessTokens.get(token);
    const user = record?.userId ? this.dir.users.get(record.userId) : undefined;
    const names = new Set([...(record?.permissions ?? [])].map((p) => outlookScopeName(p).toLowerCase()));
    if (
      !record ||
      !user ||
      record.revoked ||
      record.kind !== 'delegated' ||
      record.aud !== OUTLOOK_RESOURCE ||
      record.exp <= nowSeconds() ||
      !names.has(outlookScopeName(requiredScope).toLowerCase())
    ) {
      return { active: false };
    }
    return {
      active: true,
      username: user.userPrincipalName,
      email: user.mail,
      scope: [...record.permissions].map(outlookScopeName).join(' '),
      client_id: record.clientId,
      token_type: 'Bearer',
      exp: record.exp,
      aud: record.aud,
    };
  }

  /** POST form `token=` (dovecot's introspection_mode = post), GET `?token=`, or `Authorization: Bearer`. */
  async introspectRequest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const form = req.method === 'POST' ? new URLSearchParams((await readBody(req, 64 * 1024)).toString('utf8')) : new URLSearchParams();
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = form.get('token') ?? url.searchParams.get('token') ?? bearer ?? '';
    sendJson(res, 200, this.introspect(token, url.searchParams.get('scope') ?? undefined), { 'Cache-Control': 'no-store' });
  }
}
