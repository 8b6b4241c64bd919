/**
 * One Exchange mailbox of the fake: folders, messages with both REST and immutable ids, and a
 * change sequence that the delta query reads (every add, change, move or delete bumps it).
 */
import { randomBytes } from 'node:crypto';

export interface GraphEmailAddress {
  name: string;
  address: string;
}

export interface FakeAttachment {
  id: string;
  name: string;
  contentType: string;
  size: number;
  isInline: boolean;
  contentId?: string;
  content: Buffer;
  lastModifiedDateTime: string;
}

export interface FakeMessage {
  immutableId: string;
  restId: string;
  folderId: string;
  seq: number;
  changeKey: string;
  createdDateTime: string;
  lastModifiedDateTime: string;
  receivedDateTime: string;
  sentDateTime: string;
  subject: string;
  from?: GraphEmailAddress;
  sender?: GraphEmailAddress;
  toRecipients: GraphEmailAddress[];
  ccRecipients: GraphEmailAddress[];
  bccRecipients: GraphEmailAddress[];
  replyTo: GraphEmailAddress[];
  isRead: boolean;
  isDraft: boolean;
  importance: 'low' | 'normal' | 'high';
  flagStatus: 'notFlagged' | 'flagged' | 'complete';
  body: { contentType: 'text' | 'html'; content: string };
  internetMessageId: string;
  conversationId: string;
  internetMessageHeaders: Array<{ name: string; value: string }>;
  attachments: FakeAttachment[];
  /** The MIME the message arrived as, when it came as MIME. */
  mime?: Buffer;
}

export interface FakeFolder {
  id: string;
  displayName: string;
  parentFolderId: string;
  wellKnownName?: string;
  isHidden: boolean;
}

export interface Tombstone {
  immutableId: string;
  restId: string;
  folderId: string;
  seq: number;
}

export const WELL_KNOWN_FOLDERS: Array<[string, string]> = [
  ['inbox', 'Inbox'],
  ['drafts', 'Drafts'],
  ['sentitems', 'Sent Items'],
  ['deleteditems', 'Deleted Items'],
  ['junkemail', 'Junk Email'],
  ['archive', 'Archive'],
  ['outbox', 'Outbox'],
];

/** Graph-looking ids: long URL-safe base64, sometimes with padding (so callers must encode them). */
export function graphId(prefix: string, bytes = 46): string {
  return prefix + randomBytes(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export function bodyPreviewOf(body: { contentType: string; content: string }): string {
  const text = body.contentType === 'html'
    ? body.content.replace(/<(style|script)[^>]*>[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ').replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
    : body.content;
  return text.replace(/\s+/g, ' ').trim().slice(0, 255);
}

export class Mailbox {
  seq = 0;
  readonly rootId = graphId('AAMkRoot');
  readonly folders = new Map<string, FakeFolder>();
  private readonly wellKnown = new Map<string, string>();
  private readonly byImmutable = new Map<string, FakeMessage>();
  private readonly byRest = new Map<string, FakeMessage>();
  readonly tombstones: Tombstone[] = [];
  private readonly conversations = new Map<string, string>();

  constructor() {
    this.folders.set(this.rootId, { id: this.rootId, displayName: 'Top of Information Store', parentFolderId: '', wellKnownName: 'msgfolderroot', isHidden: false });
    this.wellKnown.set('msgfolderroot', this.rootId);
    for (const [name, displayName] of WELL_KNOWN_FOLDERS) this.createFolder(displayName, this.rootId, name);
  }

  createFolder(displayName: string, parentFolderId = this.rootId, wellKnownName?: string): FakeFolder {
    const folder: FakeFolder = { id: graphId('AAMkFolder', 30), displayName, parentFolderId, wellKnownName, isHidden: false };
    this.folders.set(folder.id, folder);
    if (wellKnownName) this.wellKnown.set(wellKnownName, folder.id);
    return folder;
  }

  /** By id, well-known name (case-insensitive) or display name of a top-level folder. */
  folder(ref: string): FakeFolder | undefined {
    const direct = this.folders.get(ref);
    if (direct) return direct;
    const known = this.wellKnown.get(ref.toLowerCase());
    if (known) return this.folders.get(known);
    return undefined;
  }

  findFolderByName(name: string): FakeFolder | undefined {
    return this.folder(name) ?? [...this.folders.values()].find((f) => f.displayName.toLowerCase() === name.toLowerCase());
  }

  childFolders(parentId: string): FakeFolder[] {
    return [...this.folders.values()].filter((f) => f.parentFolderId === parentId);
  }

  message(id: string): FakeMessage | undefined {
    return this.byImmutable.get(id) ?? this.byRest.get(id);
  }

  messagesIn(folderId: string): FakeMessage[] {
    return [...this.byImmutable.values()].filter((m) => m.folderId === folderId);
  }

  count(folderId: string): { total: number; unread: number } {
    const all = this.messagesIn(folderId);
    return { total: all.length, unread: all.filter((m) => !m.isRead).length };
  }

  private touch(msg: FakeMessage, when = new Date()): void {
    msg.seq = ++this.seq;
    msg.changeKey = randomBytes(12).toString('base64');
    msg.lastModifiedDateTime = when.toISOString().replace(/\.\d+Z$/, 'Z');
  }

  /** The conversation a message belongs to: the one of a message it answers, else a new one. */
  conversationFor(internetMessageId: string | undefined, related: string[]): string {
    for (const id of related) {
      const known = this.conversations.get(id);
      if (known) {
        if (internetMessageId) this.conversations.set(internetMessageId, known);
        return known;
      }
    }
    const fresh = graphId('AAQkConv', 30);
    if (internetMessageId) this.conversations.set(internetMessageId, fresh);
    return fresh;
  }

  insert(folderId: string, init: Omit<FakeMessage, 'immutableId' | 'restId' | 'folderId' | 'seq' | 'changeKey' | 'lastModifiedDateTime'>): FakeMessage {
    const msg: FakeMessage = {
      ...init,
      immutableId: graphId('AAkALg'),
      restId: graphId('AAMkAG'),
      folderId,
      seq: 0,
      changeKey: '',
      lastModifiedDateTime: init.createdDateTime,
    };
    this.touch(msg, new Date(init.createdDateTime));
    this.byImmutable.set(msg.immutableId, msg);
    this.byRest.set(msg.restId, msg);
    return msg;
  }

  update(msg: FakeMessage, patch: Partial<Pick<FakeMessage, 'isRead' | 'flagStatus' | 'subject' | 'body' | 'isDraft' | 'toRecipients' | 'ccRecipients' | 'bccRecipients' | 'from' | 'sender' | 'sentDateTime' | 'receivedDateTime' | 'internetMessageId'>>): void {
    Object.assign(msg, patch);
    this.touch(msg);
  }

  touchMessage(msg: FakeMessage): void {
    this.touch(msg);
  }

  move(msg: FakeMessage, folderId: string): FakeMessage {
    this.tombstones.push({ immutableId: msg.immutableId, restId: msg.restId, folderId: msg.folderId, seq: ++this.seq });
    this.byRest.delete(msg.restId);
    msg.restId = graphId('AAMkAG');
    msg.folderId = folderId;
    this.byRest.set(msg.restId, msg);
    this.touch(msg);
    return msg;
  }

  remove(msg: FakeMessage): void {
    this.tombstones.push({ immutableId: msg.immutableId, restId: msg.restId, folderId: msg.folderId, seq: ++this.seq });
    this.byImmutable.delete(msg.immutableId);
    this.byRest.delete(msg.restId);
  }
}
