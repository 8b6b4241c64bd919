/**
 * Microsoft Graph v1.0 mail of the fake: users, mail folders, messages delta, attachments,
 * sendMail (JSON and MIME), drafts, upload sessions and send; bearer tokens and permissions
 * checked per route; throttling and a per-mailbox concurrency limit like Exchange Online's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessTokenRecord, Directory, FakeUser } from './directory';
import { BodyTooLarge, graphError, readBody, sendBytes, sendEmpty, sendJson } from './http';
import { graphId, type FakeAttachment, type FakeMessage, type GraphEmailAddress, type Mailbox } from './mailbox';
import {
  ATTACHMENT_PROPERTIES,
  attachmentJson,
  composeMime,
  MESSAGE_PROPERTIES,
  messageJson,
  newAttachment,
  ODataError,
  parseSelect,
  readAttachmentJson,
  readMessageJson,
  type MessageFields,
} from './graphMessages';
import { parseMime, type ParsedMime } from './mimeParse';

export interface GraphRequestRecord {
  seq: number;
  method: string;
  /** path without the query, e.g. `/v1.0/users/<id>/sendMail` */
  path: string;
  url: string;
  /** id of the mailbox (user) the request addressed, when known */
  mailbox?: string;
  /** Date.now() when the request arrived and when its answer was sent */
  startedAt: number;
  endedAt?: number;
  status?: number;
  errorCode?: string;
  retryAfter?: string;
  /** requests of the same mailbox in flight when this one arrived (itself included) */
  inFlight?: number;
}

export interface SentRecord {
  at: number;
  /** the mailbox whose sendMail/send was called */
  mailbox: string;
  via: 'json' | 'mime' | 'draft';
  from?: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  internetMessageId: string;
  inReplyTo?: string;
  references: string[];
  attachments: Array<{ name: string; size: number; isInline: boolean }>;
  mime?: Buffer;
  /** hosted mailboxes the message was delivered into */
  deliveredTo: string[];
  savedToSentItems: boolean;
}

export interface UploadRecord {
  sessionId: string;
  start: number;
  end: number;
  total: number;
  status: number;
}

export interface GraphSettings {
  latencyMs: number;
  mailboxConcurrency: number;
  concurrencyRetryAfterSeconds: number;
  maxRequestBytes: number;
}

interface Throttle {
  remaining: number;
  status: number;
  code: string;
  message: string;
  retryAfterSeconds?: number;
  match?: (r: { method: string; path: string; mailbox?: string }) => boolean;
}

interface DeltaFilter {
  op: 'ge' | 'gt';
  at: number;
}

interface DeltaToken {
  userId: string;
  folderId: string;
  select: string[] | null;
  filter: DeltaFilter | null;
  sinceSeq: number;
}

interface DeltaRound extends Omit<DeltaToken, 'sinceSeq'> {
  items: Array<{ immutableId: string; removedRestId?: string }>;
  pos: number;
  snapshotSeq: number;
}

interface UploadSession {
  id: string;
  key: string;
  userId: string;
  messageId: string;
  name: string;
  size: number;
  contentType: string;
  isInline: boolean;
  contentId?: string;
  chunks: Buffer[];
  next: number;
  expires: number;
}

type Operation = 'user' | 'read' | 'write' | 'send';

const PERMISSIONS: Record<Operation, { app: string[]; self: string[]; other: string[] }> = {
  user: { app: ['User.Read.All', 'User.ReadWrite.All', 'User.ReadBasic.All', 'Directory.Read.All'], self: ['User.Read', 'User.ReadWrite', 'User.ReadBasic.All', 'User.Read.All'], other: ['User.ReadBasic.All', 'User.Read.All', 'Directory.Read.All'] },
  read: { app: ['Mail.Read', 'Mail.ReadWrite'], self: ['Mail.Read', 'Mail.ReadWrite'], other: ['Mail.Read.Shared', 'Mail.ReadWrite.Shared'] },
  write: { app: ['Mail.ReadWrite'], self: ['Mail.ReadWrite'], other: ['Mail.ReadWrite.Shared'] },
  send: { app: ['Mail.Send'], self: ['Mail.Send'], other: ['Mail.Send.Shared'] },
};

const UPLOAD_CHUNK_UNIT = 320 * 1024;
const iso = (d: Date | number = new Date()) => new Date(d).toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Reply extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

function preferOf(req: IncomingMessage): { maxPageSize?: number; immutable: boolean; applied: string[] } {
  const raw = ([] as string[]).concat(req.headers.prefer ?? []).join(',');
  const out = { maxPageSize: undefined as number | undefined, immutable: false, applied: [] as string[] };
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const page = /^odata\.maxpagesize\s*=\s*(\d+)$/i.exec(part);
    if (page) {
      out.maxPageSize = Number(page[1]);
      out.applied.push(`odata.maxpagesize=${page[1]}`);
    }
    if (/^IdType\s*=\s*"?ImmutableId"?$/i.test(part)) {
      out.immutable = true;
      out.applied.push('IdType="ImmutableId"');
    }
  }
  return out;
}

function parseFilter(value: string | null): DeltaFilter | null {
  if (!value) return null;
  const m = /^\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*$/i.exec(value);
  const at = m ? Date.parse(m[2]) : NaN;
  if (!m || Number.isNaN(at)) throw new ODataError(400, 'ErrorInvalidUrlQueryFilter', 'The query filter contains one or more invalid nodes.');
  return { op: m[1].toLowerCase() as 'ge' | 'gt', at };
}

const matches = (msg: FakeMessage, filter: DeltaFilter | null) =>
  !filter || (filter.op === 'ge' ? Date.parse(msg.receivedDateTime) >= filter.at : Date.parse(msg.receivedDateTime) > filter.at);

/** `/users('a')/mailFolders('b')` → segments users, a, mailFolders, b. */
export function pathSegments(pathname: string): string[] {
  const normalized = pathname.replace(/\/([A-Za-z]+)\('([^']*)'\)/g, (_m, name: string, key: string) => `/${name}/${encodeURIComponent(decodeURIComponent(key))}`);
  return normalized.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
}

export class Graph {
  readonly requests: GraphRequestRecord[] = [];
  readonly sent: SentRecord[] = [];
  readonly uploads: UploadRecord[] = [];
  private readonly inFlight = new Map<string, number>();
  readonly maxInFlight = new Map<string, number>();
  private readonly throttles: Throttle[] = [];
  private readonly rounds = new Map<string, DeltaRound>();
  private readonly deltaTokens = new Map<string, DeltaToken>();
  private readonly sessions = new Map<string, UploadSession>();
  private seq = 0;

  constructor(
    private readonly dir: Directory,
    private readonly origin: () => string,
    readonly settings: GraphSettings,
  ) {}

  // ---------------------------------------------------------------------------------------------
  // knobs

  addFailure(t: Throttle): void {
    this.throttles.push(t);
  }

  expireDeltaTokens(): void {
    this.rounds.clear();
    this.deltaTokens.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // dispatch

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (url.pathname.startsWith('/upload/attachments/')) {
      await this.upload(req, res, url);
      return true;
    }
    if (!url.pathname.startsWith('/v1.0/')) return false;
    const record: GraphRequestRecord = { seq: ++this.seq, method: req.method ?? 'GET', path: url.pathname, url: url.toString(), startedAt: Date.now() };
    this.requests.push(record);
    let counted: string | undefined;
    // the request counts as answered once its head is written: a client can only follow up after that
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    res.writeHead = ((...args: unknown[]) => {
      if (record.endedAt === undefined) {
        record.endedAt = Date.now();
        record.status = args[0] as number;
        if (counted) this.inFlight.set(counted, (this.inFlight.get(counted) ?? 1) - 1);
      }
      return writeHead(...args);
    }) as ServerResponse['writeHead'];
    const reply = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
      record.errorCode = code;
      if (headers['Retry-After']) record.retryAfter = headers['Retry-After'];
      graphError(res, status, code, message, headers);
    };
    try {
      const token = this.authenticate(req);
      const segments = pathSegments(url.pathname).slice(1);
      const { user, rest, viaMe } = this.target(segments, token);
      record.mailbox = user.id;
      counted = user.id;
      const now = (this.inFlight.get(user.id) ?? 0) + 1;
      this.inFlight.set(user.id, now);
      record.inFlight = now;
      this.maxInFlight.set(user.id, Math.max(this.maxInFlight.get(user.id) ?? 0, now));
      if (now > this.settings.mailboxConcurrency) {
        throw new Reply(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'Retry-After': String(this.settings.concurrencyRetryAfterSeconds) });
      }
      const knob = this.throttles.find((t) => t.remaining > 0 && (!t.match || t.match({ method: record.method, path: record.path, mailbox: user.id })));
      if (knob) {
        knob.remaining--;
        throw new Reply(knob.status, knob.code, knob.message, knob.retryAfterSeconds !== undefined ? { 'Retry-After': String(knob.retryAfterSeconds) } : {});
      }
      if (this.settings.latencyMs > 0) await sleep(this.settings.latencyMs);
      await this.route(req, res, url, token, user, rest, viaMe);
    } catch (err) {
      if (err instanceof Reply) reply(err.status, err.code, err.message, err.headers);
      else if (err instanceof ODataError) reply(err.status, err.code, err.message);
      else if (err instanceof BodyTooLarge) reply(413, 'ErrorRequestEntityTooLarge', 'The request payload exceeds the maximum size of 4 MB. Use an upload session for large attachments.');
      else reply(500, 'InternalServerError', (err as Error).message);
    }
    return true;
  }

  private authenticate(req: IncomingMessage): AccessTokenRecord {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const wwwAuth = { 'WWW-Authenticate': `Bearer realm="", authorization_uri="${this.origin()}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"` };
    if (!m) throw new Reply(401, 'InvalidAuthenticationToken', 'Access token is empty.', wwwAuth);
    const token = this.dir.accessTokens.get(m[1]);
    if (!token) throw new Reply(401, 'InvalidAuthenticationToken', 'IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format.', wwwAuth);
    if (token.exp < Date.now() / 1000) throw new Reply(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.', wwwAuth);
    return token;
  }

  private target(segments: string[], token: AccessTokenRecord): { user: FakeUser; rest: string[]; viaMe: boolean } {
    if (segments[0] === 'me') {
      if (token.kind !== 'delegated' || !token.userId) throw new Reply(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
      return { user: this.dir.users.get(token.userId) as FakeUser, rest: segments.slice(1), viaMe: true };
    }
    if (segments[0] === 'users' && segments[1]) {
      const user = this.dir.user(segments[1]);
      if (!user) {
        if (segments.length === 2) throw new Reply(404, 'Request_ResourceNotFound', `Resource '${segments[1]}' does not exist or one of its queried reference-property objects are not present.`);
        throw new Reply(404, 'ErrorInvalidUser', `The requested user '${segments[1]}' is invalid.`);
      }
      return { user, rest: segments.slice(2), viaMe: false };
    }
    throw new Reply(400, 'BadRequest', `Resource not found for the segment '${segments[0] ?? ''}'.`);
  }

  private authorize(token: AccessTokenRecord, op: Operation, user: FakeUser): void {
    const sets = PERMISSIONS[op];
    let ok: boolean;
    if (token.kind === 'app') ok = sets.app.some((p) => token.permissions.has(p));
    else if (token.userId === user.id) ok = sets.self.some((p) => token.permissions.has(p));
    else {
      const scoped = sets.other.some((p) => token.permissions.has(p));
      const rights = op === 'send' ? user.sendAs.has(token.userId as string) : user.fullAccess.has(token.userId as string);
      if (scoped && op === 'send' && !rights) {
        throw new Reply(403, 'ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.');
      }
      ok = scoped && (op === 'user' || rights);
    }
    if (ok) return;
    if (op === 'user') throw new Reply(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    throw new Reply(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
  }

  private requireMailbox(user: FakeUser): Mailbox {
    if (!user.hasMailbox) throw new Reply(404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.');
    return user.mailbox;
  }

  private async jsonBody(req: IncomingMessage): Promise<unknown> {
    const raw = await readBody(req, this.settings.maxRequestBytes);
    try {
      return raw.length ? JSON.parse(raw.toString('utf8')) : {};
    } catch {
      throw new ODataError(400, 'RequestBodyRead', 'Invalid JSON. A token was not recognized in the JSON content.');
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL, token: AccessTokenRecord, user: FakeUser, rest: string[], viaMe: boolean): Promise<void> {
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    const prefer = preferOf(req);
    const applied: Record<string, string> = prefer.applied.length ? { 'Preference-Applied': prefer.applied.join(', ') } : {};
    const origin = this.origin();
    const [a, b, c, d, e] = rest;
    const n = rest.length;
    const base = viaMe ? '/me' : `/users/${user.id}`;

    if (n === 0 && method === 'GET') {
      this.authorize(token, 'user', user);
      const all: Record<string, unknown> = {
        id: user.id, businessPhones: [], displayName: user.displayName, givenName: null, jobTitle: null, mail: user.mail,
        mobilePhone: null, officeLocation: null, preferredLanguage: 'en-US', surname: null, userPrincipalName: user.userPrincipalName,
      };
      const select = parseSelect(q.get('$select'), [...Object.keys(all), 'proxyAddresses'], 'microsoft.graph.user');
      const out: Record<string, unknown> = { '@odata.context': `${origin}/v1.0/$metadata#users/$entity` };
      for (const k of select ?? Object.keys(all)) out[k] = k === 'proxyAddresses' ? [`SMTP:${user.mail}`, ...user.aliases.map((x) => `smtp:${x}`)] : all[k];
      sendJson(res, 200, out);
      return;
    }
    const mailbox = this.requireMailbox(user);

    if (a === 'mailFolders') {
      if (n === 1 && method === 'GET') return this.listFolders(res, q, token, user, mailbox.rootId, base);
      const folder = b ? mailbox.folder(b) : undefined;
      if (!folder) {
        this.authorize(token, 'read', user);
        throw new Reply(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
      }
      if (n === 2 && method === 'GET') {
        this.authorize(token, 'read', user);
        sendJson(res, 200, { '@odata.context': `${origin}/v1.0/$metadata#users('${user.id}')/mailFolders/$entity`, ...this.folderJson(mailbox, folder.id, parseSelect(q.get('$select'), FOLDER_PROPERTIES, 'microsoft.graph.mailFolder')) });
        return;
      }
      if (n === 3 && c === 'childFolders' && method === 'GET') return this.listFolders(res, q, token, user, folder.id, base);
      if (n === 3 && c === 'messages' && method === 'GET') return this.listMessages(res, q, token, user, prefer, applied, folder.id);
      if (n === 3 && c === 'messages' && method === 'POST') return this.createMessage(req, res, token, user, prefer, folder.id);
      if (n === 4 && c === 'messages' && d === 'delta' && method === 'GET') return this.delta(res, q, token, user, folder.id, prefer, applied, base);
    }
    if (a === 'sendMail' && n === 1 && method === 'POST') return this.sendMail(req, res, token, user);
    if (a === 'messages') {
      if (n === 1 && method === 'GET') return this.listMessages(res, q, token, user, prefer, applied, undefined);
      if (n === 1 && method === 'POST') return this.createMessage(req, res, token, user, prefer, mailbox.folder('drafts')?.id as string);
      const msg = b ? mailbox.message(b) : undefined;
      if (!msg) {
        this.authorize(token, method === 'GET' ? 'read' : 'write', user);
        throw new Reply(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
      }
      if (n === 2 && method === 'GET') {
        this.authorize(token, 'read', user);
        sendJson(res, 200, { '@odata.context': `${origin}/v1.0/$metadata#users('${user.id}')/messages/$entity`, ...messageJson(msg, mailbox.folders.get(msg.folderId), parseSelect(q.get('$select'), MESSAGE_PROPERTIES, 'microsoft.graph.message'), prefer.immutable, origin) }, applied);
        return;
      }
      if (n === 2 && method === 'PATCH') return this.patchMessage(req, res, token, user, msg, prefer);
      if (n === 2 && method === 'DELETE') {
        this.authorize(token, 'write', user);
        mailbox.remove(msg);
        sendEmpty(res, 204);
        return;
      }
      if (n === 3 && c === '$value' && method === 'GET') {
        this.authorize(token, 'read', user);
        sendBytes(res, 200, await composeMime(msg), 'text/plain');
        return;
      }
      if (n === 3 && c === 'send' && method === 'POST') return this.sendDraft(req, res, token, user, msg);
      if (n === 3 && c === 'move' && method === 'POST') {
        this.authorize(token, 'write', user);
        const body = (await this.jsonBody(req)) as { destinationId?: unknown };
        const dest = typeof body.destinationId === 'string' ? mailbox.folder(body.destinationId) : undefined;
        if (!dest) throw new Reply(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
        mailbox.move(msg, dest.id);
        sendJson(res, 201, messageJson(msg, dest, null, prefer.immutable, origin));
        return;
      }
      if (c === 'attachments') {
        if (n === 3 && method === 'GET') {
          this.authorize(token, 'read', user);
          const select = parseSelect(q.get('$select'), ATTACHMENT_PROPERTIES, 'microsoft.graph.attachment');
          sendJson(res, 200, { '@odata.context': `${origin}/v1.0/$metadata#users('${user.id}')/messages('${msg.restId}')/attachments`, value: msg.attachments.map((att) => attachmentJson(att, select)) });
          return;
        }
        if (n === 3 && method === 'POST') {
          this.authorize(token, 'write', user);
          if (!msg.isDraft) throw new Reply(400, 'ErrorInvalidOperation', 'Attachments can only be added to draft messages.');
          const att = readAttachmentJson((await this.jsonBody(req)) as Record<string, unknown>);
          if (att.size > 3 * 1024 * 1024) throw new Reply(413, 'ErrorRequestEntityTooLarge', 'Attachments larger than 3 MB must be uploaded with an upload session.');
          msg.attachments.push(att);
          mailbox.touchMessage(msg);
          sendJson(res, 201, attachmentJson(att, null));
          return;
        }
        if (n === 4 && d === 'createUploadSession' && method === 'POST') return this.createUploadSession(req, res, token, user, msg);
        const att = msg.attachments.find((x) => x.id === d);
        if (!att) {
          this.authorize(token, 'read', user);
          throw new Reply(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
        }
        if (n === 4 && method === 'GET') {
          this.authorize(token, 'read', user);
          sendJson(res, 200, attachmentJson(att, parseSelect(q.get('$select'), [...ATTACHMENT_PROPERTIES, 'contentId', 'contentBytes'], 'microsoft.graph.fileAttachment')));
          return;
        }
        if (n === 5 && e === '$value' && method === 'GET') {
          this.authorize(token, 'read', user);
          sendBytes(res, 200, att.content, att.contentType);
          return;
        }
      }
    }
    throw new Reply(400, 'BadRequest', `Resource not found for the segment '${rest[rest.length - 1] ?? ''}'.`);
  }

  // ---------------------------------------------------------------------------------------------
  // folders and messages

  private folderJson(mailbox: Mailbox, folderId: string, select: string[] | null): Record<string, unknown> {
    const f = mailbox.folders.get(folderId);
    if (!f) return {};
    const counts = mailbox.count(f.id);
    const all: Record<string, unknown> = {
      id: f.id,
      displayName: f.displayName,
      parentFolderId: f.parentFolderId,
      childFolderCount: mailbox.childFolders(f.id).length,
      unreadItemCount: counts.unread,
      totalItemCount: counts.total,
      sizeInBytes: mailbox.messagesIn(f.id).reduce((s, m) => s + m.body.content.length + m.attachments.reduce((x, y) => x + y.size, 0), 0),
      isHidden: f.isHidden,
    };
    const out: Record<string, unknown> = { id: f.id };
    for (const k of select ?? Object.keys(all)) out[k] = all[k];
    return out;
  }

  private listFolders(res: ServerResponse, q: URLSearchParams, token: AccessTokenRecord, user: FakeUser, parentId: string, base: string): void {
    this.authorize(token, 'read', user);
    const mailbox = user.mailbox;
    const select = parseSelect(q.get('$select'), FOLDER_PROPERTIES, 'microsoft.graph.mailFolder');
    const top = Math.min(Number(q.get('$top') ?? 10) || 10, 1000);
    const skip = Number(q.get('$skip') ?? 0) || 0;
    const all = mailbox.childFolders(parentId).filter((f) => q.get('includeHiddenFolders') === 'true' || !f.isHidden);
    const page = all.slice(skip, skip + top);
    const body: Record<string, unknown> = {
      '@odata.context': `${this.origin()}/v1.0/$metadata#users('${user.id}')/mailFolders`,
      value: page.map((f) => this.folderJson(mailbox, f.id, select)),
    };
    if (skip + top < all.length) {
      const next = new URL(`${this.origin()}/v1.0${base}/${parentId === mailbox.rootId ? 'mailFolders' : `mailFolders('${parentId}')/childFolders`}`);
      for (const [k, v] of q) if (k !== '$skip') next.searchParams.set(k, v);
      next.searchParams.set('$top', String(top));
      next.searchParams.set('$skip', String(skip + top));
      body['@odata.nextLink'] = next.toString();
    }
    sendJson(res, 200, body);
  }

  private listMessages(res: ServerResponse, q: URLSearchParams, token: AccessTokenRecord, user: FakeUser, prefer: ReturnType<typeof preferOf>, applied: Record<string, string>, folderId: string | undefined): void {
    this.authorize(token, 'read', user);
    const mailbox = user.mailbox;
    const select = parseSelect(q.get('$select'), MESSAGE_PROPERTIES, 'microsoft.graph.message');
    const top = Math.min(Number(q.get('$top') ?? 10) || 10, 1000);
    const skip = Number(q.get('$skip') ?? 0) || 0;
    const all = (folderId ? mailbox.messagesIn(folderId) : [...mailbox.folders.keys()].flatMap((f) => mailbox.messagesIn(f)))
      .sort((x, y) => Date.parse(y.receivedDateTime) - Date.parse(x.receivedDateTime));
    const body: Record<string, unknown> = {
      '@odata.context': `${this.origin()}/v1.0/$metadata#users('${user.id}')/messages`,
      value: all.slice(skip, skip + top).map((m) => messageJson(m, mailbox.folders.get(m.folderId), select, prefer.immutable, this.origin())),
    };
    if (skip + top < all.length) {
      const next = new URL(`${this.origin()}/v1.0/users/${user.id}/${folderId ? `mailFolders('${folderId}')/messages` : 'messages'}`);
      for (const [k, v] of q) if (k !== '$skip') next.searchParams.set(k, v);
      next.searchParams.set('$skip', String(skip + top));
      body['@odata.nextLink'] = next.toString();
    }
    sendJson(res, 200, body, applied);
  }

  private async patchMessage(req: IncomingMessage, res: ServerResponse, token: AccessTokenRecord, user: FakeUser, msg: FakeMessage, prefer: ReturnType<typeof preferOf>): Promise<void> {
    this.authorize(token, 'write', user);
    const body = (await this.jsonBody(req)) as Record<string, unknown>;
    const patch: Parameters<Mailbox['update']>[1] = {};
    if (typeof body.isRead === 'boolean') patch.isRead = body.isRead;
    const flag = (body.flag as { flagStatus?: unknown } | undefined)?.flagStatus;
    if (flag === 'flagged' || flag === 'notFlagged' || flag === 'complete') patch.flagStatus = flag;
    if (msg.isDraft && typeof body.subject === 'string') patch.subject = body.subject;
    user.mailbox.update(msg, patch);
    sendJson(res, 200, messageJson(msg, user.mailbox.folders.get(msg.folderId), null, prefer.immutable, this.origin()));
  }

  // ---------------------------------------------------------------------------------------------
  // delta

  private delta(res: ServerResponse, q: URLSearchParams, token: AccessTokenRecord, user: FakeUser, folderId: string, prefer: ReturnType<typeof preferOf>, applied: Record<string, string>, base: string): void {
    this.authorize(token, 'read', user);
    const mailbox = user.mailbox;
    const skip = q.get('$skiptoken');
    const deltaToken = q.get('$deltatoken');
    let roundKey: string;
    if (skip) {
      if (!this.rounds.has(skip)) throw new Reply(410, 'SyncStateNotFound', 'The sync state generation is not found. Start the synchronization again without a delta token.');
      roundKey = skip;
    } else {
      let since: DeltaToken;
      if (deltaToken) {
        const known = this.deltaTokens.get(deltaToken);
        if (!known || known.userId !== user.id) throw new Reply(410, 'SyncStateNotFound', 'The sync state generation is not found. Start the synchronization again without a delta token.');
        since = known;
      } else {
        since = {
          userId: user.id,
          folderId,
          select: parseSelect(q.get('$select'), MESSAGE_PROPERTIES, 'microsoft.graph.message'),
          filter: parseFilter(q.get('$filter')),
          sinceSeq: 0,
        };
      }
      const changed = mailbox.messagesIn(since.folderId).filter((m) => m.seq > since.sinceSeq && matches(m, since.filter)).sort((x, y) => x.seq - y.seq);
      const present = new Set(changed.map((m) => m.immutableId));
      const removed = since.sinceSeq === 0 ? [] : mailbox.tombstones.filter((t) => t.folderId === since.folderId && t.seq > since.sinceSeq && !present.has(t.immutableId));
      const seenRemoved = new Set<string>();
      const items: DeltaRound['items'] = [];
      for (const t of removed) {
        if (seenRemoved.has(t.immutableId)) continue;
        seenRemoved.add(t.immutableId);
        items.push({ immutableId: t.immutableId, removedRestId: t.restId });
      }
      for (const m of changed) items.push({ immutableId: m.immutableId });
      roundKey = randomBytes(24).toString('base64url');
      this.rounds.set(roundKey, { userId: user.id, folderId: since.folderId, select: since.select, filter: since.filter, items, pos: 0, snapshotSeq: mailbox.seq });
    }
    const round = this.rounds.get(roundKey) as DeltaRound;
    const pageSize = Math.max(1, Math.min(prefer.maxPageSize ?? 10, 1000));
    const value: Array<Record<string, unknown>> = [];
    while (round.pos < round.items.length && value.length < pageSize) {
      const item = round.items[round.pos++];
      if (item.removedRestId !== undefined) {
        value.push({ '@odata.type': '#microsoft.graph.message', id: prefer.immutable ? item.immutableId : item.removedRestId, '@removed': { reason: 'deleted' } });
        continue;
      }
      const msg = mailbox.message(item.immutableId);
      if (!msg || msg.folderId !== round.folderId) continue; // gone meanwhile: the next round reports it
      value.push({ '@odata.type': '#microsoft.graph.message', ...messageJson(msg, mailbox.folders.get(msg.folderId), round.select, prefer.immutable, this.origin()) });
    }
    const link = `${this.origin()}/v1.0${base}/mailFolders('${round.folderId}')/messages/delta`;
    const body: Record<string, unknown> = { '@odata.context': `${this.origin()}/v1.0/$metadata#Collection(message)`, value };
    if (round.pos < round.items.length) {
      body['@odata.nextLink'] = `${link}?$skiptoken=${roundKey}`;
    } else {
      this.rounds.delete(roundKey);
      const next = randomBytes(24).toString('base64url');
      this.deltaTokens.set(next, { userId: round.userId, folderId: round.folderId, select: round.select, filter: round.filter, sinceSeq: round.snapshotSeq });
      body['@odata.deltaLink'] = `${link}?$deltatoken=${next}`;
    }
    sendJson(res, 200, body, applied);
  }

  // ---------------------------------------------------------------------------------------------
  // sending

  private async messageBody(req: IncomingMessage): Promise<{ mime?: Buffer; json?: unknown }> {
    const type = String(req.headers['content-type'] ?? '').toLowerCase();
    const raw = await readBody(req, this.settings.maxRequestBytes);
    if (type.startsWith('text/plain')) {
      const text = raw.toString('latin1').replace(/\s+/g, '');
      if (!text || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
        throw new ODataError(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.');
      }
      return { mime: Buffer.from(text, 'base64') };
    }
    if (!type.startsWith('application/json')) throw new ODataError(415, 'UnsupportedMediaType', `Content-Type '${type}' is not supported; use application/json or text/plain (base64 MIME).`);
    try {
      return { json: raw.length ? JSON.parse(raw.toString('utf8')) : undefined };
    } catch {
      throw new ODataError(400, 'RequestBodyRead', 'Invalid JSON. A token was not recognized in the JSON content.');
    }
  }

  private fieldsFromMime(mime: Buffer): { fields: MessageFields; parsed: ParsedMime } {
    const parsed = parseMime(mime);
    const addr = (a: { name: string; address: string }): GraphEmailAddress => ({ name: a.name || a.address, address: a.address });
    const headers = parsed.headers.filter((h) => !/^(bcc|content-.*|mime-version)$/i.test(h.name));
    let body: MessageFields['body'] = { contentType: 'text', content: parsed.text ?? '' };
    if (parsed.html !== undefined) body = { contentType: 'html', content: parsed.html };
    return {
      parsed,
      fields: {
        subject: parsed.subject,
        body,
        from: parsed.from ? addr(parsed.from) : undefined,
        sender: parsed.sender ? addr(parsed.sender) : undefined,
        toRecipients: parsed.to.map(addr),
        ccRecipients: parsed.cc.map(addr),
        bccRecipients: parsed.bcc.map(addr),
        replyTo: parsed.replyTo.map(addr),
        attachments: parsed.attachments.map((a) => newAttachment(a.filename, a.contentType, a.content, a.inline, a.contentId)),
        headers,
        internetMessageId: parsed.messageId,
        importance: 'normal',
      },
    };
  }

  private async sendMail(req: IncomingMessage, res: ServerResponse, token: AccessTokenRecord, user: FakeUser): Promise<void> {
    this.authorize(token, 'send', user);
    const { mime, json } = await this.messageBody(req);
    if (mime) {
      const { fields } = this.fieldsFromMime(mime);
      this.submit(user, fields, { via: 'mime', mime, save: true, token });
    } else {
      const body = json as { message?: unknown; saveToSentItems?: unknown } | undefined;
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ODataError(400, 'ErrorInvalidRequest', 'The request body must be a JSON object with a "message".');
      for (const key of Object.keys(body)) {
        if (key !== 'message' && key !== 'saveToSentItems') throw new ODataError(400, 'RequestBodyRead', `The parameter '${key}' in the request payload is not a valid parameter for the operation 'sendMail'.`);
      }
      if (body.message === undefined) throw new ODataError(400, 'ErrorInvalidRequest', "The parameter 'message' is missing.");
      if (body.saveToSentItems !== undefined && typeof body.saveToSentItems !== 'boolean') throw new ODataError(400, 'RequestBodyRead', "Cannot convert the literal to the expected type 'Edm.Boolean'.");
      const fields = readMessageJson(body.message);
      this.submit(user, fields, { via: 'json', save: body.saveToSentItems !== false, token });
    }
    sendEmpty(res, 202);
  }

  private async createMessage(req: IncomingMessage, res: ServerResponse, token: AccessTokenRecord, user: FakeUser, prefer: ReturnType<typeof preferOf>, folderId: string): Promise<void> {
    this.authorize(token, 'write', user);
    const { mime, json } = await this.messageBody(req);
    const fields = mime ? this.fieldsFromMime(mime).fields : readMessageJson(json);
    const mailbox = user.mailbox;
    const now = iso();
    const internetMessageId = fields.internetMessageId ?? `<${randomUUID().replace(/-/g, '').toUpperCase()}@${user.mail.split('@')[1]}>`;
    const msg = mailbox.insert(folderId, {
      createdDateTime: now,
      receivedDateTime: now,
      sentDateTime: now,
      subject: fields.subject,
      from: fields.from ?? { name: user.displayName, address: user.mail },
      sender: fields.sender ?? fields.from ?? { name: user.displayName, address: user.mail },
      toRecipients: fields.toRecipients,
      ccRecipients: fields.ccRecipients,
      bccRecipients: fields.bccRecipients,
      replyTo: fields.replyTo,
      isRead: true,
      isDraft: folderId === mailbox.folder('drafts')?.id,
      importance: fields.importance,
      flagStatus: 'notFlagged',
      body: fields.body,
      internetMessageId,
      conversationId: mailbox.conversationFor(internetMessageId, relatedIds(fields.headers)),
      internetMessageHeaders: fields.headers,
      attachments: fields.attachments,
      mime,
    });
    sendJson(res, 201, { '@odata.context': `${this.origin()}/v1.0/$metadata#users('${user.id}')/messages/$entity`, ...messageJson(msg, mailbox.folders.get(folderId), null, prefer.immutable, this.origin()) });
  }

  private async sendDraft(req: IncomingMessage, res: ServerResponse, token: AccessTokenRecord, user: FakeUser, msg: FakeMessage): Promise<void> {
    this.authorize(token, 'send', user);
    await readBody(req, 1024);
    if (!msg.isDraft) throw new Reply(400, 'ErrorInvalidOperation', 'Only draft messages can be sent.');
    const fields: MessageFields = {
      subject: msg.subject,
      body: msg.body,
      from: msg.from,
      sender: msg.sender,
      toRecipients: msg.toRecipients,
      ccRecipients: msg.ccRecipients,
      bccRecipients: msg.bccRecipients,
      replyTo: msg.replyTo,
      attachments: msg.attachments,
      headers: msg.internetMessageHeaders,
      internetMessageId: msg.internetMessageId,
      importance: msg.importance,
    };
    this.submit(user, fields, { via: 'draft', save: true, token, draft: msg, mime: msg.mime });
    sendEmpty(res, 202);
  }

  /** Checks send-as rights, stores the Sent Items copy and delivers into hosted mailboxes. */
  private submit(user: FakeUser, fields: MessageFields, opts: { via: SentRecord['via']; save: boolean; token: AccessTokenRecord; draft?: FakeMessage; mime?: Buffer }): void {
    const own = new Set([user.mail, user.userPrincipalName, ...user.aliases]);
    const fromAddress = (fields.from?.address ?? user.mail).toLowerCase();
    if (!own.has(fromAddress)) {
      const owner = this.dir.user(fromAddress);
      if (!owner || !owner.sendAs.has(user.id)) {
        throw new Reply(403, 'ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.');
      }
    }
    const recipients = [...fields.toRecipients, ...fields.ccRecipients, ...fields.bccRecipients];
    if (!recipients.length) {
      throw new Reply(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid., A message can\'t be sent because it contains no recipients.');
    }
    const domain = user.mail.split('@')[1];
    const internetMessageId = fields.internetMessageId ?? `<${randomUUID().replace(/-/g, '').toUpperCase()}@${domain}>`;
    const now = new Date();
    const from = fields.from ?? { name: user.displayName, address: user.mail };
    const sender = fields.sender ?? from;
    const stdHeaders = fields.headers.some((h) => h.name.toLowerCase() === 'message-id')
      ? fields.headers
      : [
          { name: 'Message-ID', value: internetMessageId },
          { name: 'Date', value: now.toUTCString() },
          { name: 'From', value: from.address },
          { name: 'To', value: fields.toRecipients.map((r) => r.address).join(', ') },
          { name: 'Subject', value: fields.subject },
          ...fields.headers,
        ];
    const mailbox = user.mailbox;
    const sentItems = mailbox.folder('sentitems')?.id as string;
    if (opts.draft) {
      mailbox.update(opts.draft, { isDraft: false, sentDateTime: iso(now), internetMessageId });
      if (opts.save) mailbox.move(opts.draft, sentItems);
      else mailbox.remove(opts.draft);
    } else if (opts.save) {
      mailbox.insert(sentItems, {
        createdDateTime: iso(now), receivedDateTime: iso(now), sentDateTime: iso(now), subject: fields.subject, from, sender,
        toRecipients: fields.toRecipients, ccRecipients: fields.ccRecipients, bccRecipients: fields.bccRecipients, replyTo: fields.replyTo,
        isRead: true, isDraft: false, importance: fields.importance, flagStatus: 'notFlagged', body: fields.body, internetMessageId,
        conversationId: mailbox.conversationFor(internetMessageId, relatedIds(fields.headers)), internetMessageHeaders: stdHeaders,
        attachments: fields.attachments.map(copyAttachment), mime: opts.mime,
      });
    }
    const delivered: string[] = [];
    const wireMime = opts.mime ? stripBcc(opts.mime) : undefined;
    for (const r of recipients) {
      const target = this.dir.recipient(r.address);
      if (!target || !target.hasMailbox || delivered.includes(target.id)) continue;
      delivered.push(target.id);
      const inbox = target.mailbox.folder('inbox')?.id as string;
      target.mailbox.insert(inbox, {
        createdDateTime: iso(now), receivedDateTime: iso(now), sentDateTime: iso(now), subject: fields.subject, from, sender,
        toRecipients: fields.toRecipients, ccRecipients: fields.ccRecipients, bccRecipients: [], replyTo: fields.replyTo,
        isRead: false, isDraft: false, importance: fields.importance, flagStatus: 'notFlagged', body: fields.body, internetMessageId,
        conversationId: target.mailbox.conversationFor(internetMessageId, relatedIds(stdHeaders)),
        internetMessageHeaders: [{ name: 'Received', value: `from ${domain} by fake.outlook.test; ${now.toUTCString()}` }, ...stdHeaders],
        attachments: fields.attachments.map(copyAttachment), mime: wireMime,
      });
    }
    const header = (name: string) => stdHeaders.find((h) => h.name.toLowerCase() === name)?.value;
    this.sent.push({
      at: Date.now(),
      mailbox: user.mail,
      via: opts.via,
      from: from.address,
      to: fields.toRecipients.map((x) => x.address),
      cc: fields.ccRecipients.map((x) => x.address),
      bcc: fields.bccRecipients.map((x) => x.address),
      subject: fields.subject,
      internetMessageId,
      inReplyTo: header('in-reply-to')?.match(/<[^>]+>/)?.[0],
      references: header('references')?.match(/<[^>]+>/g) ?? [],
      attachments: fields.attachments.map((x) => ({ name: x.name, size: x.size, isInline: x.isInline })),
      mime: opts.mime,
      deliveredTo: delivered.map((id) => (this.dir.users.get(id) as FakeUser).mail),
      savedToSentItems: opts.save,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // upload sessions

  private async createUploadSession(req: IncomingMessage, res: ServerResponse, token: AccessTokenRecord, user: FakeUser, msg: FakeMessage): Promise<void> {
    this.authorize(token, 'write', user);
    const body = (await this.jsonBody(req)) as { AttachmentItem?: Record<string, unknown> };
    const item = body?.AttachmentItem;
    if (!item || typeof item !== 'object') throw new ODataError(400, 'ErrorInvalidRequest', "The parameter 'AttachmentItem' is missing.");
    if (item.attachmentType !== 'file') throw new ODataError(400, 'ErrorInvalidRequest', "AttachmentItem.attachmentType must be 'file'.");
    if (typeof item.name !== 'string' || !item.name) throw new ODataError(400, 'ErrorInvalidRequest', 'AttachmentItem.name is required.');
    const size = Number(item.size);
    if (!Number.isInteger(size) || size < 1 || size > 150 * 1024 * 1024) throw new ODataError(400, 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize', 'AttachmentItem.size must be between 1 byte and 150 MB.');
    if (!msg.isDraft) throw new Reply(400, 'ErrorInvalidOperation', 'Attachments can only be added to draft messages.');
    const session: UploadSession = {
      id: randomUUID(),
      key: randomBytes(32).toString('base64url'),
      userId: user.id,
      messageId: msg.immutableId,
      name: item.name,
      size,
      contentType: typeof item.contentType === 'string' ? item.contentType : 'application/octet-stream',
      isInline: item.isInline === true,
      contentId: typeof item.contentId === 'string' ? item.contentId : undefined,
      chunks: [],
      next: 0,
      expires: Date.now() + 6 * 60 * 60 * 1000,
    };
    this.sessions.set(session.id, session);
    sendJson(res, 201, {
      '@odata.context': `${this.origin()}/v1.0/$metadata#microsoft.graph.uploadSession`,
      uploadUrl: `${this.origin()}/upload/attachments/${session.id}?authtoken=${session.key}`,
      expirationDateTime: iso(session.expires),
      nextExpectedRanges: ['0-'],
    });
  }

  private async upload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const id = url.pathname.split('/').pop() ?? '';
    const session = this.sessions.get(id);
    const record: UploadRecord = { sessionId: id, start: -1, end: -1, total: -1, status: 0 };
    this.uploads.push(record);
    const fail = async (status: number, code: string, message: string) => {
      await readBody(req).catch(() => undefined);
      record.status = status;
      graphError(res, status, code, message);
    };
    if (!session || url.searchParams.get('authtoken') !== session.key || session.expires < Date.now()) return fail(404, 'ErrorItemNotFound', 'The upload session was not found or has expired.');
    if (req.headers.authorization) {
      return fail(401, 'InvalidAudienceForResource', "The audience claim value is invalid for current resource. Audience claim is 'https://graph.microsoft.com', request url is the upload URL. Do not send an Authorization header to an upload URL.");
    }
    if (req.method === 'DELETE') {
      this.sessions.delete(id);
      record.status = 204;
      sendEmpty(res, 204);
      return;
    }
    if (req.method !== 'PUT') return fail(405, 'MethodNotAllowed', 'Use PUT to upload a byte range.');
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
    if (!range) return fail(400, 'InvalidContentRange', 'The Content-Range header is missing or malformed.');
    const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    Object.assign(record, { start, end, total });
    const data = await readBody(req, 60 * 1024 * 1024);
    if (total !== session.size) return fail(400, 'InvalidContentRange', `The total size ${total} does not match the session's ${session.size}.`);
    if (start !== session.next) return fail(416, 'InvalidRange', `Expected the range starting at ${session.next}.`);
    if (end - start + 1 !== data.length) return fail(400, 'InvalidContentRange', 'The Content-Range does not match the number of bytes sent.');
    const last = end + 1 === total;
    if (!last && data.length % UPLOAD_CHUNK_UNIT !== 0) return fail(400, 'InvalidContentRange', 'Every byte range but the last must be a multiple of 320 KiB (327,680 bytes).');
    session.chunks.push(data);
    session.next = end + 1;
    if (!last) {
      record.status = 200;
      sendJson(res, 200, { expirationDateTime: iso(session.expires), nextExpectedRanges: [`${session.next}-`] });
      return;
    }
    this.sessions.delete(id);
    const user = this.dir.users.get(session.userId) as FakeUser;
    const msg = user.mailbox.message(session.messageId);
    if (!msg) return fail(404, 'ErrorItemNotFound', 'The message of the upload session no longer exists.');
    const att = newAttachment(session.name, session.contentType, Buffer.concat(session.chunks), session.isInline, session.contentId);
    msg.attachments.push(att);
    user.mailbox.touchMessage(msg);
    record.status = 201;
    sendEmpty(res, 201, { Location: `${this.origin()}/v1.0/users/${user.id}/messages/${encodeURIComponent(msg.restId)}/attachments/${encodeURIComponent(att.id)}` });
  }
}

const FOLDER_PROPERTIES = ['id', 'displayName', 'parentFolderId', 'childFolderCount', 'unreadItemCount', 'totalItemCount', 'sizeInBytes', 'isHidden'];

function relatedIds(headers: Array<{ name: string; value: string }>): string[] {
  const pick = (n: string) => headers.filter((h) => h.name.toLowerCase() === n).flatMap((h) => h.value.match(/<[^<>\s]+>/g) ?? []);
  return [...pick('in-reply-to'), ...pick('references')];
}

function copyAttachment(a: FakeAttachment): FakeAttachment {
  return { ...a, id: graphId('AAMkAtt', 40) };
}

function stripBcc(mime: Buffer): Buffer {
  const text = mime.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  if (end < 0) return mime;
  const head = text.slice(0, end).replace(/^Bcc:.*(?:\r?\n[ \t].*)*\r?\n?/gim, '');
  return Buffer.from(head + text.slice(end), 'latin1');
}
