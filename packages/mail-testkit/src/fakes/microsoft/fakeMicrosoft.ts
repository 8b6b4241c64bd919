/**
 * A fake Microsoft 365 — Entra ID (login) and Microsoft Graph v1.0 mail — on one HTTPS server on
 * 127.0.0.1 with a throwaway CA. Clients trust it by `caPem` (pass it as the Graph config's
 * `endpoints.ca`), address it by `authorityHost` and `graphBaseUrl`.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { makeTestCa } from './certs';
import { Directory, type FakeApp, type FakeAppInit, type FakeUser, type FakeUserInit } from './directory';
import { AuthorizePageError, Entra, INTROSPECTION_PATH, type AuthorizeOptions, type AuthorizeResult, type TokenRequestRecord } from './entra';
import { Graph, type GraphRequestRecord, type SentRecord, type UploadRecord } from './graph';
import { graphError, sendJson } from './http';
import { TokenSigner } from './jwt';
import { graphId, type FakeMessage, type GraphEmailAddress } from './mailbox';
import { newAttachment } from './graphMessages';

export interface MicrosoftFakeOptions {
  tenantId?: string;
  /** verified domains of the tenant (users' domains are added automatically) */
  domains?: string[];
  /** default 3599 */
  accessTokenLifetimeSeconds?: number;
  /** Exchange's limit of concurrent requests per app and mailbox; default 4 */
  mailboxConcurrency?: number;
  /** Retry-After of the concurrency 429; default 1 */
  concurrencyRetryAfterSeconds?: number;
  /** largest JSON or MIME body of sendMail / create message; default 4 MB */
  maxRequestBytes?: number;
  /**
   * Also serve the token introspection endpoint over plain HTTP on 127.0.0.1 (`introspectionUrl`), for peers that
   * cannot be given the fake's CA (dovecot's oauth2 passdb). Default false: only HTTPS on `origin`.
   */
  introspectionHttp?: boolean;
}

export interface SeedAttachment {
  name: string;
  content: Buffer | string;
  contentType?: string;
  isInline?: boolean;
  contentId?: string;
}

export interface SeedMessage {
  subject?: string;
  from?: string | GraphEmailAddress;
  to?: Array<string | GraphEmailAddress>;
  cc?: Array<string | GraphEmailAddress>;
  replyTo?: Array<string | GraphEmailAddress>;
  text?: string;
  html?: string;
  receivedDateTime?: Date | string;
  sentDateTime?: Date | string;
  isRead?: boolean;
  flagged?: boolean;
  /** `<id@host>` */
  internetMessageId?: string;
  inReplyTo?: string;
  references?: string[];
  /** extra internet message headers, e.g. `{ 'Auto-Submitted': 'auto-replied' }` */
  headers?: Record<string, string>;
  attachments?: SeedAttachment[];
}

export interface FailureOptions {
  /** only requests of this mailbox (id, UPN or address) */
  mailbox?: string;
  /** only requests whose path matches */
  path?: RegExp;
  method?: string;
}

export interface MicrosoftFake {
  /** `https://127.0.0.1:<port>` — Entra ID and Graph share it */
  origin: string;
  /** for `endpoints.authorityHost` */
  authorityHost: string;
  /** for `endpoints.graphBaseUrl` (without /v1.0) */
  graphBaseUrl: string;
  /** the CA to trust (`endpoints.ca`) */
  caPem: string;
  tenantId: string;
  /**
   * Token introspection (RFC 7662, a fake-only endpoint): POST `token=…`; `?scope=` names the scope a token must
   * carry (default IMAP.AccessAsUser.All). Plain HTTP with `introspectionHttp`, else on `origin`.
   */
  introspectionUrl: string;
  /** what the introspection endpoint answers for a token */
  introspect(token: string, requiredScope?: string): Record<string, unknown>;

  addUser(init: FakeUserInit): FakeUser;
  user(ref: string): FakeUser;
  addApp(init?: FakeAppInit): FakeApp;
  app(clientId: string): FakeApp;
  /** admin consent for permissions: application roles, delegated scopes, or both (default) */
  grantScopes(clientId: string, scopes: string[], kind?: 'application' | 'delegated' | 'both'): void;
  revokeScopes(clientId: string, scopes: string[], kind?: 'application' | 'delegated' | 'both'): void;
  /** `user` may send as `mailbox` (Exchange "Send As") */
  grantSendAs(mailbox: string, user: string): void;
  grantFullAccess(mailbox: string, user: string): void;
  /** what the browser gets after signing in on the authorize URL: redirect with code and state */
  authorizeAs(user: string, authorizeUrl: string | URLSearchParams | Record<string, string>, opts?: AuthorizeOptions): AuthorizeResult;
  /** an admin accepting an admin-consent URL: grants the permissions, returns the redirect */
  adminConsentAs(adminConsentUrl: string, permissions: { application?: string[]; delegated?: string[] }): string;
  /** invalidates every refresh token of the user (password reset, "revoke sessions") */
  revokeRefreshTokens(user: string): number;
  /** invalidates every access token of the user (introspection answers inactive; Graph is not affected) */
  revokeAccessTokens(user: string): number;
  setAccessTokenLifetime(seconds: number): void;

  createFolder(user: string, displayName: string, parent?: string): string;
  /** n generated messages, or the given ones; returns them (ids: `immutableId`, `restId`) */
  addMessages(user: string, folder: string, messages: number | SeedMessage[]): FakeMessage[];
  messagesIn(user: string, folder: string): FakeMessage[];
  markRead(user: string, ids: string | string[], isRead?: boolean): void;
  deleteMessage(user: string, id: string): void;
  moveMessage(user: string, id: string, folder: string): void;

  /** the next n Graph requests (matching opts) get 429 ApplicationThrottled with Retry-After */
  throttleNext(n: number, retryAfterSeconds: number, opts?: FailureOptions): void;
  /** the next n Graph requests (matching opts) get `status` (default 503) */
  failNext(n: number, status?: number, retryAfterSeconds?: number, opts?: FailureOptions): void;
  /** every Graph request waits this long while counted as in flight */
  setLatency(ms: number): void;
  /** deltaLinks and nextLinks answer 410 SyncStateNotFound from now on */
  expireDeltaTokens(): void;

  /** every Graph request, in arrival order */
  requests: GraphRequestRecord[];
  /** requests whose method and path match */
  requestsTo(path: RegExp, method?: string): GraphRequestRecord[];
  /** most Graph requests of one mailbox ever in flight at once */
  maxConcurrent(user: string): number;
  tokenRequests: TokenRequestRecord[];
  sent: SentRecord[];
  uploads: UploadRecord[];
  close(): Promise<void>;
}

const toAddress = (a: string | GraphEmailAddress): GraphEmailAddress => (typeof a === 'string' ? { name: a, address: a } : a);
const iso = (d: Date | string) => new Date(d).toISOString().replace(/\.\d+Z$/, 'Z');

export async function startMicrosoftFake(opts: MicrosoftFakeOptions = {}): Promise<MicrosoftFake> {
  const tls = await makeTestCa();
  const dir = new Directory(opts.tenantId, opts.domains);
  const signer = new TokenSigner();
  let origin = '';
  const entra = new Entra(dir, signer, () => origin, {
    accessTokenLifetimeSeconds: opts.accessTokenLifetimeSeconds ?? 3599,
    refreshTokenLifetimeSeconds: 90 * 24 * 3600,
  });
  const graph = new Graph(dir, () => origin, {
    latencyMs: 0,
    mailboxConcurrency: opts.mailboxConcurrency ?? 4,
    concurrencyRetryAfterSeconds: opts.concurrencyRetryAfterSeconds ?? 1,
    maxRequestBytes: opts.maxRequestBytes ?? 4 * 1024 * 1024,
  });

  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', origin);
    void (async () => {
      try {
        if (await graph.handle(req, res, url)) return;
        const segments = url.pathname.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
        if (await entra.handle(req, res, url, segments)) return;
        graphError(res, 404, 'NotFound', `No fake route for ${req.method} ${url.pathname}`);
      } catch (err) {
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: (err as Error).message });
        else res.destroy();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let plain: http.Server | undefined;
  if (opts.introspectionHttp) {
    plain = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== INTROSPECTION_PATH) {
        sendJson(res, 404, { error: 'not_found' });
        return;
      }
      entra.introspectRequest(req, res, url).catch((err: Error) => {
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: err.message });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      plain!.once('error', reject);
      plain!.listen(0, '127.0.0.1', () => resolve());
    });
  }
  const introspectionUrl = plain
    ? `http://127.0.0.1:${(plain.address() as AddressInfo).port}${INTROSPECTION_PATH}`
    : `${origin}${INTROSPECTION_PATH}`;

  const userOf = (ref: string) => dir.requireUser(ref);
  const folderOf = (user: FakeUser, ref: string) => {
    const folder = user.mailbox.findFolderByName(ref);
    if (!folder) throw new Error(`the fake mailbox ${user.mail} has no folder "${ref}"`);
    return folder;
  };
  const grant = (clientId: string, scopes: string[], kind: 'application' | 'delegated' | 'both', add: boolean) => {
    const app = dir.requireApp(clientId);
    for (const s of scopes) {
      for (const set of [kind !== 'delegated' ? app.applicationPermissions : undefined, kind !== 'application' ? app.delegatedPermissions : undefined]) {
        if (set) {
          if (add) set.add(s);
          else set.delete(s);
        }
      }
    }
  };
  const failure = (n: number, status: number, code: string, message: string, retryAfterSeconds: number | undefined, f: FailureOptions = {}) => {
    const mailboxId = f.mailbox ? userOf(f.mailbox).id : undefined;
    graph.addFailure({
      remaining: n,
      status,
      code,
      message,
      retryAfterSeconds,
      match: (r) => (!mailboxId || r.mailbox === mailboxId) && (!f.path || f.path.test(r.path)) && (!f.method || f.method.toUpperCase() === r.method),
    });
  };

  return {
    origin,
    authorityHost: origin,
    graphBaseUrl: origin,
    caPem: tls.caPem,
    tenantId: dir.tenantId,
    introspectionUrl,
    introspect: (token, requiredScope) => entra.introspect(token, requiredScope),

    addUser: (init) => dir.addUser(init),
    user: userOf,
    addApp: (init) => dir.addApp(init),
    app: (clientId) => dir.requireApp(clientId),
    grantScopes: (clientId, scopes, kind = 'both') => grant(clientId, scopes, kind, true),
    revokeScopes: (clientId, scopes, kind = 'both') => grant(clientId, scopes, kind, false),
    grantSendAs: (mailbox, user) => void userOf(mailbox).sendAs.add(userOf(user).id),
    grantFullAccess: (mailbox, user) => void userOf(mailbox).fullAccess.add(userOf(user).id),
    authorizeAs: (user, url, o) => entra.authorize(url, user, o),
    adminConsentAs: (url, permissions) => entra.adminConsent(new URL(url, origin).searchParams, permissions),
    revokeRefreshTokens: (user) => dir.revokeRefreshTokens(userOf(user).id),
    revokeAccessTokens: (user) => dir.revokeAccessTokens(userOf(user).id),
    setAccessTokenLifetime: (seconds) => {
      entra.settings.accessTokenLifetimeSeconds = seconds;
    },

    createFolder: (user, displayName, parent) => {
      const u = userOf(user);
      return u.mailbox.createFolder(displayName, parent ? folderOf(u, parent).id : u.mailbox.rootId).id;
    },
    addMessages: (user, folderRef, messages) => {
      const u = userOf(user);
      const folder = folderOf(u, folderRef);
      const list: SeedMessage[] = typeof messages === 'number'
        ? Array.from({ length: messages }, (_x, i) => {
            const base = Date.now() - (messages + 60) * 60_000;
            return {
              subject: `Message ${i + 1}`,
              from: { name: `Sender ${i % 10}`, address: `sender${i % 10}@example.test` },
              text: `Body of message ${i + 1}.`,
              receivedDateTime: new Date(base + i * 60_000),
            };
          })
        : messages;
      return list.map((m) => {
        const received = iso(m.receivedDateTime ?? new Date(Date.now() - 3600_000));
        const internetMessageId = m.internetMessageId ?? `<seed-${randomUUID()}@example.test>`;
        const from = toAddress(m.from ?? { name: 'Sender', address: 'sender@example.test' });
        const to = (m.to ?? [u.mail]).map(toAddress);
        const cc = (m.cc ?? []).map(toAddress);
        const related = [...(m.inReplyTo ? [m.inReplyTo] : []), ...(m.references ?? [])];
        const headers = [
          { name: 'Received', value: `from mx.example.test by fake.outlook.test; ${new Date(received).toUTCString()}` },
          { name: 'Message-ID', value: internetMessageId },
          { name: 'Date', value: new Date(m.sentDateTime ?? received).toUTCString() },
          { name: 'From', value: from.name ? `${from.name} <${from.address}>` : from.address },
          { name: 'To', value: to.map((x) => x.address).join(', ') },
          ...(cc.length ? [{ name: 'Cc', value: cc.map((x) => x.address).join(', ') }] : []),
          { name: 'Subject', value: m.subject ?? '' },
          ...(m.inReplyTo ? [{ name: 'In-Reply-To', value: m.inReplyTo }] : []),
          ...(related.length ? [{ name: 'References', value: (m.references ?? [m.inReplyTo as string]).join(' ') }] : []),
          { name: 'MIME-Version', value: '1.0' },
          ...Object.entries(m.headers ?? {}).map(([name, value]) => ({ name, value })),
        ];
        return u.mailbox.insert(folder.id, {
          createdDateTime: received,
          receivedDateTime: received,
          sentDateTime: iso(m.sentDateTime ?? received),
          subject: m.subject ?? '',
          from,
          sender: from,
          toRecipients: to,
          ccRecipients: cc,
          bccRecipients: [],
          replyTo: (m.replyTo ?? []).map(toAddress),
          isRead: !!m.isRead,
          isDraft: false,
          importance: 'normal',
          flagStatus: m.flagged ? 'flagged' : 'notFlagged',
          body: m.html !== undefined ? { contentType: 'html', content: m.html } : { contentType: 'text', content: m.text ?? '' },
          internetMessageId,
          conversationId: u.mailbox.conversationFor(internetMessageId, related),
          internetMessageHeaders: headers,
          attachments: (m.attachments ?? []).map((a) => newAttachment(a.name, a.contentType, Buffer.isBuffer(a.content) ? a.content : Buffer.from(a.content), !!a.isInline, a.contentId)),
        });
      });
    },
    messagesIn: (user, folder) => {
      const u = userOf(user);
      return u.mailbox.messagesIn(folderOf(u, folder).id).sort((a, b) => a.seq - b.seq);
    },
    markRead: (user, ids, isRead = true) => {
      const u = userOf(user);
      for (const id of ([] as string[]).concat(ids)) {
        const msg = u.mailbox.message(id);
        if (!msg) throw new Error(`no message ${id} in ${u.mail}`);
        u.mailbox.update(msg, { isRead });
      }
    },
    deleteMessage: (user, id) => {
      const u = userOf(user);
      const msg = u.mailbox.message(id);
      if (!msg) throw new Error(`no message ${id} in ${u.mail}`);
      u.mailbox.remove(msg);
    },
    moveMessage: (user, id, folder) => {
      const u = userOf(user);
      const msg = u.mailbox.message(id);
      if (!msg) throw new Error(`no message ${id} in ${u.mail}`);
      u.mailbox.move(msg, folderOf(u, folder).id);
    },

    throttleNext: (n, retryAfterSeconds, f) => failure(n, 429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', retryAfterSeconds, f),
    failNext: (n, status = 503, retryAfterSeconds, f) =>
      failure(n, status, status === 503 ? 'ServiceUnavailable' : status === 504 ? 'GatewayTimeout' : 'UnknownError', status === 503 ? 'Service Unavailable' : 'An internal server error occurred. The operation failed.', retryAfterSeconds, f),
    setLatency: (ms) => {
      graph.settings.latencyMs = ms;
    },
    expireDeltaTokens: () => graph.expireDeltaTokens(),

    requests: graph.requests,
    requestsTo: (path, method) => graph.requests.filter((r) => path.test(r.path) && (!method || r.method === method.toUpperCase())),
    maxConcurrent: (user) => graph.maxInFlight.get(userOf(user).id) ?? 0,
    tokenRequests: entra.tokenRequests,
    sent: graph.sent,
    uploads: graph.uploads,
    close: async () => {
      if (plain) {
        const p = plain;
        await new Promise<void>((resolve) => {
          p.close(() => resolve());
          p.closeAllConnections();
        });
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

export { AuthorizePageError, graphId };
