/**
 * MailSource over Microsoft Graph: folders with their well-known roles, and the incremental sync
 * of a folder by delta query. One batch per delta page; the cursor is the deltaLink (plus the
 * nextLink of an unfinished round), see GraphFolderCursor.
 *
 * Graph's delta does not say whether an item is new or only changed. Without `knownIds` every
 * item of an incremental round is reported in `added` (the store upserts by provider id); with
 * it, items the store already has are reported as flag changes.
 */
import { closedError, MailError } from '../../errors';
import type {
  AppendResult,
  AppendTarget,
  DownloadedAttachment,
  FlagChange,
  FolderChangeListener,
  FolderCursor,
  FolderInfo,
  MailSource,
  SpecialUse,
  SyncBatch,
  SyncOptions,
} from '../../types';
import { openGraphAccount, type GraphAccount } from './graphAccount';
import { jsonOf } from './graphClient';
import { isGraphCursor, type GraphFolderCursor, type GraphRuntime, type Ms365Config } from './graphConfig';
import { parseGraphErrorBody } from './graphErrors';
import {
  ATTACHMENT_SELECT,
  DELTA_SELECT,
  flagsOf,
  mayHaveInlineParts,
  syncedMessageOf,
  type GraphAttachmentMeta,
  type GraphMessage,
  type GraphSyncedMessage,
} from './graphMessages';

export interface GraphSyncOptions extends SyncOptions {
  /**
   * Which of these provider ids the store already has. Lets an incremental round report a read
   * or flagged message as a flag change instead of an upsert in `added`.
   */
  knownIds?: (providerIds: string[]) => Promise<Iterable<string>> | Iterable<string>;
}

export const DEFAULT_PAGE_SIZE = 100;
/** Inline parts up to this size are read once during the sync to learn their Content-ID. */
const MAX_INLINE_LOOKUP_BYTES = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Graph's well-known folder names and the roles they have. */
export const WELL_KNOWN_FOLDERS: Array<[string, SpecialUse]> = [
  ['inbox', 'inbox'],
  ['sentitems', 'sent'],
  ['drafts', 'drafts'],
  ['deleteditems', 'trash'],
  ['junkemail', 'junk'],
  ['archive', 'archive'],
];

interface GraphFolder {
  id: string;
  displayName?: string;
  parentFolderId?: string;
  childFolderCount?: number;
}

interface DeltaPage {
  value?: GraphMessage[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

const asFolderCursor = (c: GraphFolderCursor): FolderCursor => c as unknown as FolderCursor;

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MailError('ABORTED', 'The sync was cancelled.');
}

export class GraphSource implements MailSource {
  private readonly account: GraphAccount;
  private closed = false;

  constructor(config: Ms365Config, runtime: GraphRuntime = {}) {
    this.account = openGraphAccount(config, runtime);
  }

  private ensureOpen(): void {
    if (this.closed) throw closedError('source');
  }

  async listFolders(): Promise<FolderInfo[]> {
    this.ensureOpen();
    const { client, basePath } = this.account;
    const ctx = { operation: 'list', permission: 'Mail.Read', notFound: 'mailbox' as const };
    const select = 'id,displayName,parentFolderId,childFolderCount';
    const folders: GraphFolder[] = [];
    let level = await client.all<GraphFolder>({ method: 'GET', url: `${basePath}/mailFolders`, query: { $top: '250', $select: select }, ctx });
    while (level.length) {
      folders.push(...level);
      const parents = level.filter((f) => (f.childFolderCount ?? 0) > 0);
      const children = await Promise.all(
        parents.map((f) => client.all<GraphFolder>({ method: 'GET', url: `${basePath}/mailFolders/${encodeURIComponent(f.id)}/childFolders`, query: { $top: '250', $select: select }, ctx: { ...ctx, notFound: 'folder' } })),
      );
      level = children.flat();
    }
    const roles = new Map<string, SpecialUse>();
    await Promise.all(
      WELL_KNOWN_FOLDERS.map(async ([name, role]) => {
        const res = await client.request({ method: 'GET', url: `${basePath}/mailFolders/${name}`, query: { $select: 'id' }, accept: [404], ctx: { ...ctx, notFound: 'folder' } });
        if (res.status === 200) roles.set(jsonOf<{ id: string }>(res).id, role);
      }),
    );
    const byId = new Map(folders.map((f) => [f.id, f]));
    const pathOf = (f: GraphFolder, seen = new Set<string>()): string => {
      const parent = f.parentFolderId ? byId.get(f.parentFolderId) : undefined;
      if (!parent || seen.has(parent.id)) return f.displayName ?? f.id;
      seen.add(f.id);
      return `${pathOf(parent, seen)}/${f.displayName ?? f.id}`;
    };
    return folders.map((f) => {
      const specialUse = roles.get(f.id);
      return { path: f.id, name: pathOf(f), delimiter: '/', ...(specialUse ? { specialUse } : {}) };
    });
  }

  private initialUrl(folder: string, opts: SyncOptions): { url: string; query: Record<string, string> } {
    const query: Record<string, string> = { $select: DELTA_SELECT };
    if (opts.initialWindowDays && opts.initialWindowDays > 0) {
      const since = new Date(Date.now() - opts.initialWindowDays * DAY_MS).toISOString().replace(/\.\d+Z$/, 'Z');
      query.$filter = `receivedDateTime ge ${since}`;
    }
    return { url: `${this.account.basePath}/mailFolders/${encodeURIComponent(folder)}/messages/delta`, query };
  }

  private async attachmentsOf(messages: GraphMessage[]): Promise<Map<string, GraphAttachmentMeta[]>> {
    const wanted = messages.filter((m) => m.hasAttachments || mayHaveInlineParts(m));
    const out = new Map<string, GraphAttachmentMeta[]>();
    await Promise.all(
      wanted.map(async (m) => {
        const res = await this.account.client.request({
          method: 'GET',
          url: `${this.account.basePath}/messages/${encodeURIComponent(m.id)}/attachments`,
          query: { $select: ATTACHMENT_SELECT },
          headers: { Prefer: 'IdType="ImmutableId"' },
          accept: [404],
          ctx: { operation: 'sync', permission: 'Mail.Read', notFound: 'message' },
        });
        // a message deleted meanwhile: the next round reports its removal
        if (res.status !== 200) return;
        const list = jsonOf<{ value?: GraphAttachmentMeta[] }>(res).value ?? [];
        if (mayHaveInlineParts(m)) await this.contentIdsOf(m.id, list);
        out.set(m.id, list);
      }),
    );
    return out;
  }

  /**
   * The Content-ID of inline parts (what `cid:` in the html points to) is a property of the
   * derived fileAttachment type, which the attachment list cannot select: read each small inline
   * attachment on its own.
   */
  private async contentIdsOf(messageId: string, list: GraphAttachmentMeta[]): Promise<void> {
    await Promise.all(
      list
        .filter((a) => a.isInline && !a.contentId && (a.size ?? 0) <= MAX_INLINE_LOOKUP_BYTES)
        .map(async (a) => {
          const res = await this.account.client.request({
            method: 'GET',
            url: `${this.account.basePath}/messages/${encodeURIComponent(messageId)}/attachments/${encodeURIComponent(a.id)}`,
            headers: { Prefer: 'IdType="ImmutableId"' },
            accept: [404],
            ctx: { operation: 'sync', permission: 'Mail.Read', notFound: 'attachment' },
          });
          if (res.status === 200) {
            const full = jsonOf<{ contentId?: string | null }>(res);
            if (full.contentId) a.contentId = full.contentId;
          }
        }),
    );
  }

  /**
   * Yields one batch per delta page. Cursor handling:
   * - null or not a Graph cursor of this folder: initial round (the first batch has `reset` when
   *   a cursor was given, so the store drops what it had);
   * - `nextLink`: resumes an unfinished round; `deltaLink`: the changes since the last round;
   * - an expired link (410 Gone / SyncStateNotFound): the round restarts from the deltaLink, or
   *   the whole folder from scratch with `reset: true`.
   */
  async *syncFolder(folder: string, cursorIn: FolderCursor | null, opts: GraphSyncOptions = {}): AsyncGenerator<SyncBatch> {
    this.ensureOpen();
    const pageSize = Math.max(1, Math.min(opts.batchSize ?? DEFAULT_PAGE_SIZE, 1000));
    const prefer = `odata.maxpagesize=${pageSize}, IdType="ImmutableId"`;
    const given = cursorIn as unknown;
    let cursor: GraphFolderCursor | null = isGraphCursor(given) && given.folderId === folder ? given : null;
    let reset = given !== null && given !== undefined && cursor === null;
    let restarted = false;
    let deltaLink = cursor?.deltaLink ?? null;
    let next: { url: string; query?: Record<string, string> } = cursor ? { url: (cursor.nextLink ?? cursor.deltaLink) as string } : this.initialUrl(folder, opts);
    let usingNextLink = !!cursor?.nextLink;

    for (;;) {
      throwIfAborted(opts.signal);
      const res = await this.account.client.request({
        method: 'GET',
        url: next.url,
        query: next.query,
        headers: { Prefer: prefer },
        accept: [410, 400],
        ctx: { operation: 'sync', folder, permission: 'Mail.Read', notFound: 'folder' },
        signal: opts.signal,
      });
      if (res.status === 400 || res.status === 410) {
        const { code, message } = parseGraphErrorBody(res.body);
        const expired = res.status === 410 || /syncstatenotfound|resyncrequired|syncstateinvalid/i.test(code ?? '');
        if (!expired) {
          throw new MailError('PROVIDER_ERROR', `Microsoft Graph sync (${this.account.mailbox}, folder ${folder}): 400 ${code ?? ''}: ${message ?? ''}`, {
            retryable: false,
            responseCode: 400,
            context: { protocol: 'graph', operation: 'sync', folder },
          });
        }
        if (usingNextLink && deltaLink) {
          // an unfinished incremental round expired: run it again from the last deltaLink
          usingNextLink = false;
          next = { url: deltaLink };
          continue;
        }
        if (restarted) {
          throw new MailError('PROVIDER_ERROR', `Microsoft Graph keeps refusing the sync of folder ${folder} (${code ?? res.status}).`, { retryable: true, context: { protocol: 'graph', operation: 'sync', folder } });
        }
        restarted = true;
        reset = true;
        deltaLink = null;
        usingNextLink = false;
        next = this.initialUrl(folder, opts);
        continue;
      }
      const page = jsonOf<DeltaPage>(res);
      const incremental = deltaLink !== null;
      const upserts = new Map<string, GraphMessage>();
      const deleted = new Set<string>();
      for (const item of page.value ?? []) {
        if (!item?.id) continue;
        if (item['@removed']) {
          upserts.delete(item.id);
          deleted.add(item.id);
        } else {
          deleted.delete(item.id);
          upserts.set(item.id, item);
        }
      }
      let known = new Set<string>();
      if (incremental && opts.knownIds && upserts.size) known = new Set(await opts.knownIds([...upserts.keys()]));
      const changed: FlagChange[] = [];
      const fresh: GraphMessage[] = [];
      for (const m of upserts.values()) {
        if (known.has(m.id)) changed.push({ providerId: m.id, flags: flagsOf(m) });
        else fresh.push(m);
      }
      const attachments = await this.attachmentsOf(fresh);
      const added: GraphSyncedMessage[] = fresh.map((m) => syncedMessageOf(m, folder, attachments.get(m.id)));

      const nextLink = page['@odata.nextLink'];
      const newDelta = page['@odata.deltaLink'];
      let batchCursor: GraphFolderCursor;
      if (nextLink) batchCursor = { v: 1, kind: 'graph', folderId: folder, deltaLink, nextLink };
      else if (newDelta) batchCursor = { v: 1, kind: 'graph', folderId: folder, deltaLink: newDelta };
      else {
        throw new MailError('PROVIDER_ERROR', `Microsoft Graph ended the delta of folder ${folder} without a nextLink or deltaLink.`, { retryable: true, context: { protocol: 'graph', operation: 'sync', folder } });
      }
      const batch: SyncBatch = { added, changed, deleted: [...deleted], cursor: asFolderCursor(batchCursor) };
      if (reset) batch.reset = true;
      reset = false;
      yield batch;
      if (!nextLink) return;
      next = { url: nextLink };
      usingNextLink = true;
    }
  }

  async downloadAttachment(folder: string, providerId: string, partId: string): Promise<DownloadedAttachment> {
    this.ensureOpen();
    const path = `${this.account.basePath}/messages/${encodeURIComponent(providerId)}/attachments/${encodeURIComponent(partId)}`;
    const ctx = { operation: 'download', folder, permission: 'Mail.Read', notFound: 'attachment' as const };
    const meta = await this.account.client.json<{ name?: string; contentType?: string }>({
      method: 'GET',
      url: path,
      query: { $select: 'id,name,contentType,size' },
      headers: { Prefer: 'IdType="ImmutableId"' },
      ctx,
    });
    const res = await this.account.client.stream({ method: 'GET', url: `${path}/$value`, headers: { Prefer: 'IdType="ImmutableId"' }, ctx });
    return { stream: res.stream, contentType: meta.contentType || res.headers['content-type'] || 'application/octet-stream', ...(meta.name ? { filename: meta.name } : {}) };
  }

  async setSeen(folder: string, providerId: string, seen: boolean): Promise<void> {
    this.ensureOpen();
    await this.account.client.request({
      method: 'PATCH',
      url: `${this.account.basePath}/messages/${encodeURIComponent(providerId)}`,
      json: { isRead: seen },
      headers: { Prefer: 'IdType="ImmutableId"' },
      idempotent: true,
      ctx: { operation: 'flags', folder, permission: 'Mail.ReadWrite', notFound: 'message' },
    });
  }

  /** Graph keeps the sent copy itself (saveToSentItems): nothing to append. */
  async appendToFolder(_target: AppendTarget, _raw: Buffer, _flags?: string[]): Promise<AppendResult> {
    return { path: 'sentitems' };
  }

  /** Graph has no IDLE; change notifications need a public webhook. Polling the delta is cheap. */
  async watch(_folder: string, _onChange: FolderChangeListener): Promise<() => Promise<void>> {
    return async () => undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
