/**
 * Receiving from Microsoft 365 (app-only) against the fake Graph over real HTTPS: folders with
 * their roles, delta sync in pages, incremental rounds, expired sync state, resuming an
 * unfinished round, message mapping and attachment download.
 */
import { createHash } from 'node:crypto';
import { startMicrosoftFake, type MicrosoftFake } from '../../mail-testkit/src/fakes/microsoft';
import { createGraphSource, isGraphCursor, type GraphSyncOptions, type GraphSyncedMessage, type Ms365AppConfig } from '../src/providers/graph';
import { MailError } from '../src/errors';
import type { FolderCursor, MailSource, SyncBatch } from '../src/types';

const ANNA = 'anna@contoso.test';
const SECRET = 'sync-secret';

let fake: MicrosoftFake;
let clientId: string;

function config(mailbox = ANNA): Ms365AppConfig {
  return {
    provider: 'ms365-app',
    address: mailbox,
    mailbox,
    tenantId: fake.tenantId,
    clientId,
    auth: { method: 'client-secret', clientSecret: SECRET },
    endpoints: { authorityHost: fake.authorityHost, graphBaseUrl: fake.graphBaseUrl, ca: fake.caPem },
  };
}

/** What the NocoBase half does with batches: upsert by provider id, flags, deletes; cursor after each batch. */
class Store {
  rows = new Map<string, GraphSyncedMessage>();
  flags = new Map<string, string[]>();
  cursor: FolderCursor | null = null;
  batches: SyncBatch[] = [];
  upsertsOfKnown = 0;

  apply(batch: SyncBatch): void {
    this.batches.push(batch);
    if (batch.reset) {
      this.rows.clear();
      this.flags.clear();
    }
    for (const m of batch.added) {
      if (this.rows.has(m.providerId)) this.upsertsOfKnown++;
      this.rows.set(m.providerId, m as GraphSyncedMessage);
      this.flags.set(m.providerId, m.flags);
    }
    for (const c of batch.changed) this.flags.set(c.providerId, c.flags);
    for (const id of batch.deleted) {
      this.rows.delete(id);
      this.flags.delete(id);
    }
    this.cursor = JSON.parse(JSON.stringify(batch.cursor));
  }

  knownIds = (ids: string[]) => ids.filter((id) => this.rows.has(id));

  async sync(source: MailSource, folder: string, opts: GraphSyncOptions = {}): Promise<SyncBatch[]> {
    const seen: SyncBatch[] = [];
    for await (const batch of source.syncFolder(folder, this.cursor, { knownIds: this.knownIds, ...opts } as GraphSyncOptions)) {
      this.apply(batch);
      seen.push(batch);
    }
    return seen;
  }
}

const merged = (batches: SyncBatch[]) => ({
  added: batches.flatMap((b) => b.added),
  changed: batches.flatMap((b) => b.changed),
  deleted: batches.flatMap((b) => b.deleted),
  reset: batches.some((b) => b.reset),
});

beforeAll(async () => {
  fake = await startMicrosoftFake();
  fake.addUser({ upn: ANNA, displayName: 'Anna Berger' });
  clientId = fake.addApp({ secrets: [SECRET], applicationPermissions: ['Mail.ReadWrite', 'Mail.Send', 'User.Read.All'] }).clientId;
});
afterAll(() => fake?.close());

test('listFolders: every folder, child folders with their path, roles from the well-known names', async () => {
  const parent = fake.createFolder(ANNA, 'Projekte');
  fake.createFolder(ANNA, 'Kunde A', 'Projekte');
  const source = createGraphSource(config());
  const folders = await source.listFolders();
  const byName = new Map(folders.map((f) => [f.name, f]));
  expect(byName.get('Inbox')?.specialUse).toBe('inbox');
  expect(byName.get('Sent Items')?.specialUse).toBe('sent');
  expect(byName.get('Drafts')?.specialUse).toBe('drafts');
  expect(byName.get('Deleted Items')?.specialUse).toBe('trash');
  expect(byName.get('Junk Email')?.specialUse).toBe('junk');
  expect(byName.get('Archive')?.specialUse).toBe('archive');
  expect(byName.get('Projekte')).toEqual({ path: parent, name: 'Projekte', delimiter: '/' });
  expect(byName.get('Projekte/Kunde A')?.path).toBeTruthy();
  expect(byName.get('Projekte/Kunde A')?.specialUse).toBeUndefined();
  await source.close();
});

describe('delta sync of a big folder', () => {
  const USER = 'bulk@contoso.test';
  beforeAll(() => {
    fake.addUser({ upn: USER });
    fake.addMessages(USER, 'inbox', 2000);
  });

  test('2,000 messages in pages of 100: every message exactly once, one request per page', async () => {
    const store = new Store();
    const source = createGraphSource(config(USER));
    const before = fake.requestsTo(/\/messages\/delta$/).length;
    const batches = await store.sync(source, 'inbox', { batchSize: 100 });
    expect(batches).toHaveLength(20);
    expect(batches.every((b) => b.added.length === 100)).toBe(true);
    const ids = batches.flatMap((b) => b.added.map((m) => m.providerId));
    expect(new Set(ids).size).toBe(2000);
    expect(store.rows.size).toBe(2000);
    expect(store.upsertsOfKnown).toBe(0);
    expect(fake.requestsTo(/\/messages\/delta$/).length - before).toBe(20);
    // every batch but the last continues the round; the last one holds the deltaLink
    expect(batches.slice(0, -1).every((b) => isGraphCursor(b.cursor) && !!(b.cursor as unknown as { nextLink?: string }).nextLink)).toBe(true);
    const last = store.cursor as unknown as { kind: string; deltaLink: string; nextLink?: string; folderId: string };
    expect(last).toMatchObject({ v: 1, kind: 'graph', folderId: 'inbox' });
    expect(last.deltaLink).toMatch(/\/messages\/delta\?\$deltatoken=/);
    expect(last.nextLink).toBeUndefined();
    // the immutable id form was asked for
    expect(fake.messagesIn(USER, 'inbox').map((m) => m.immutableId)).toEqual(expect.arrayContaining(ids.slice(0, 5)));
    await source.close();
  });
});

describe('incremental rounds', () => {
  const USER = 'inc@contoso.test';
  let store: Store;
  let source: MailSource;
  beforeAll(async () => {
    fake.addUser({ upn: USER });
    fake.addMessages(USER, 'inbox', 10);
    store = new Store();
    source = createGraphSource(config(USER));
    await store.sync(source, 'inbox');
    expect(store.rows.size).toBe(10);
  });
  afterAll(() => source.close());

  test('3 new, 2 read, 1 deleted: exactly that', async () => {
    const old = fake.messagesIn(USER, 'inbox');
    fake.addMessages(USER, 'inbox', [
      { subject: 'new 1', receivedDateTime: new Date() },
      { subject: 'new 2', receivedDateTime: new Date() },
      { subject: 'new 3', receivedDateTime: new Date() },
    ]);
    fake.markRead(USER, [old[0].immutableId, old[1].immutableId]);
    fake.deleteMessage(USER, old[2].immutableId);
    const delta = merged(await store.sync(source, 'inbox'));
    expect(delta.added.map((m) => m.subject).sort()).toEqual(['new 1', 'new 2', 'new 3']);
    expect(delta.changed).toEqual(
      expect.arrayContaining([
        { providerId: old[0].immutableId, flags: ['\\Seen'] },
        { providerId: old[1].immutableId, flags: ['\\Seen'] },
      ]),
    );
    expect(delta.changed).toHaveLength(2);
    expect(delta.deleted).toEqual([old[2].immutableId]);
    expect(delta.reset).toBe(false);
    expect(store.rows.size).toBe(12);
    expect(store.flags.get(old[0].immutableId)).toEqual(['\\Seen']);
  });

  test('nothing changed: one empty batch with a new deltaLink', async () => {
    const batches = await store.sync(source, 'inbox');
    expect(batches).toHaveLength(1);
    expect(merged(batches)).toEqual({ added: [], changed: [], deleted: [], reset: false });
  });

  test('without knownIds a changed message comes as an upsert in added (never lost)', async () => {
    const [m] = fake.messagesIn(USER, 'inbox');
    fake.markRead(USER, m.immutableId, false);
    const batches: SyncBatch[] = [];
    for await (const b of source.syncFolder('inbox', store.cursor)) batches.push(b);
    const delta = merged(batches);
    expect(delta.added.map((x) => [x.providerId, x.flags])).toEqual([[m.immutableId, []]]);
    expect(delta.changed).toEqual([]);
    store.apply({ ...batches[batches.length - 1], added: [], changed: [], deleted: [] });
  });

  test('a message moved into the folder is added with the same (immutable) id it had elsewhere', async () => {
    const archived = fake.addMessages(USER, 'archive', [{ subject: 'filed away', receivedDateTime: '2023-05-01T10:00:00Z', isRead: true }]);
    await store.sync(source, 'inbox');
    fake.moveMessage(USER, archived[0].immutableId, 'inbox');
    const delta = merged(await store.sync(source, 'inbox'));
    expect(delta.added.map((m) => [m.providerId, m.subject])).toEqual([[archived[0].immutableId, 'filed away']]);
    expect(delta.changed).toEqual([]);
  });

  test('an expired deltaLink (410 SyncStateNotFound): the folder starts over with reset', async () => {
    fake.expireDeltaTokens();
    const batches = await store.sync(source, 'inbox');
    expect(batches[0].reset).toBe(true);
    expect(store.rows.size).toBe(fake.messagesIn(USER, 'inbox').length);
    expect(fake.requestsTo(/\/messages\/delta$/).some((r) => r.status === 410)).toBe(true);
  });

  test('a cursor of another kind (or folder) starts over with reset', async () => {
    const batches: SyncBatch[] = [];
    const imapCursor = { v: 1, uidValidity: 1, uidNext: 5, uids: '1:4' } as FolderCursor;
    for await (const b of source.syncFolder('inbox', imapCursor)) batches.push(b);
    expect(batches[0].reset).toBe(true);
    expect(merged(batches).added).toHaveLength(fake.messagesIn(USER, 'inbox').length);
  });
});

test('an interrupted initial round resumes from the stored nextLink: nothing twice, nothing missed', async () => {
  const USER = 'resume@contoso.test';
  fake.addUser({ upn: USER });
  fake.addMessages(USER, 'inbox', 250);
  const source = createGraphSource(config(USER));
  const store = new Store();
  for await (const batch of source.syncFolder('inbox', null, { batchSize: 100 })) {
    store.apply(batch);
    break; // the process died after storing the first batch
  }
  expect(store.rows.size).toBe(100);
  fake.addMessages(USER, 'inbox', [{ subject: 'arrived meanwhile', receivedDateTime: new Date() }]);
  const rest = await store.sync(source, 'inbox', { batchSize: 100 });
  expect(store.upsertsOfKnown).toBe(0);
  expect(merged(rest).added).toHaveLength(150);
  // what arrived during the round comes with the next round
  const next = merged(await store.sync(source, 'inbox', { batchSize: 100 }));
  expect(next.added.map((m) => m.subject)).toEqual(['arrived meanwhile']);
  expect(store.rows.size).toBe(251);
  await source.close();
});

test('initial window: only mail received in the last N days ($filter on the first delta call)', async () => {
  const USER = 'window@contoso.test';
  fake.addUser({ upn: USER });
  fake.addMessages(USER, 'inbox', [
    { subject: 'old', receivedDateTime: new Date(Date.now() - 40 * 86400_000) },
    { subject: 'recent', receivedDateTime: new Date(Date.now() - 2 * 86400_000) },
  ]);
  const source = createGraphSource(config(USER));
  const store = new Store();
  const first = merged(await store.sync(source, 'inbox', { initialWindowDays: 30 }));
  expect(first.added.map((m) => m.subject)).toEqual(['recent']);
  expect(fake.requestsTo(/\/messages\/delta$/).some((r) => /%24filter=receivedDateTime|\$filter=receivedDateTime/.test(r.url))).toBe(true);
  fake.addMessages(USER, 'inbox', [{ subject: 'today', receivedDateTime: new Date() }]);
  expect(merged(await store.sync(source, 'inbox', { initialWindowDays: 30 })).added.map((m) => m.subject)).toEqual(['today']);
  await source.close();
});

test('message mapping: addresses, threading headers, conversationId, html, flags, attachments and download', async () => {
  const USER = 'map@contoso.test';
  fake.addUser({ upn: USER });
  const pdf = Buffer.from('%PDF-1.7 ' + 'x'.repeat(5000));
  const png = Buffer.from('89504e470d0a1a0a', 'hex');
  const [root] = fake.addMessages(USER, 'inbox', [
    {
      subject: 'Anfrage',
      from: { name: 'Kunde GmbH', address: 'info@kunde.test' },
      to: [USER],
      internetMessageId: '<root-1@kunde.test>',
      text: 'Bitte ein Angebot.',
      receivedDateTime: '2024-03-01T09:00:00Z',
    },
  ]);
  const [reply] = fake.addMessages(USER, 'inbox', [
    {
      subject: 'Re: Anfrage',
      from: { name: 'Kunde GmbH', address: 'info@kunde.test' },
      to: [{ name: 'Map', address: USER }],
      cc: ['chef@kunde.test'],
      replyTo: ['angebote@kunde.test'],
      internetMessageId: '<reply-2@kunde.test>',
      inReplyTo: '<root-1@kunde.test>',
      references: ['<root-1@kunde.test>'],
      html: '<p>Anbei <img src="cid:logo@kunde"> und das PDF.</p>',
      headers: { 'Auto-Submitted': 'auto-replied', 'List-Id': '<kunden.kunde.test>' },
      isRead: true,
      flagged: true,
      receivedDateTime: '2024-03-02T09:00:00Z',
      sentDateTime: '2024-03-02T08:59:00Z',
      attachments: [
        { name: 'angebot.pdf', contentType: 'application/pdf', content: pdf },
        { name: 'logo.png', contentType: 'image/png', content: png, isInline: true, contentId: 'logo@kunde' },
      ],
    },
  ]);
  const source = createGraphSource(config(USER));
  const store = new Store();
  await store.sync(source, 'inbox');
  const m = store.rows.get(reply.immutableId) as GraphSyncedMessage;
  expect(m).toMatchObject({
    providerId: reply.immutableId,
    folder: 'inbox',
    messageId: '<reply-2@kunde.test>',
    inReplyTo: '<root-1@kunde.test>',
    references: ['<root-1@kunde.test>'],
    from: { name: 'Kunde GmbH', address: 'info@kunde.test' },
    to: [{ name: 'Map', address: USER }],
    cc: [{ address: 'chef@kunde.test' }],
    replyTo: [{ address: 'angebote@kunde.test' }],
    subject: 'Re: Anfrage',
    flags: ['\\Seen', '\\Flagged'],
    html: '<p>Anbei <img src="cid:logo@kunde"> und das PDF.</p>',
    snippet: 'Anbei und das PDF.',
    hasAttachments: true,
    headers: { autoSubmitted: 'auto-replied', listId: '<kunden.kunde.test>' },
    conversationId: root.conversationId,
  });
  expect(m.date.toISOString()).toBe('2024-03-02T08:59:00.000Z');
  expect(m.receivedAt?.toISOString()).toBe('2024-03-02T09:00:00.000Z');
  expect(m.attachments.map((a) => [a.filename, a.contentType, a.size, a.disposition])).toEqual([
    ['angebot.pdf', 'application/pdf', pdf.length, 'attachment'],
    ['logo.png', 'image/png', png.length, 'inline'],
  ]);
  expect(m.attachments[1].cid).toBe('logo@kunde');
  const rootMsg = store.rows.get(root.immutableId) as GraphSyncedMessage;
  expect(rootMsg).toMatchObject({ text: 'Bitte ein Angebot.', hasAttachments: false, attachments: [], flags: [] });
  const download = await source.downloadAttachment('inbox', m.providerId, m.attachments[0].partId);
  const chunks: Buffer[] = [];
  for await (const chunk of download.stream) chunks.push(chunk as Buffer);
  expect(createHash('sha256').update(Buffer.concat(chunks)).digest('hex')).toBe(createHash('sha256').update(pdf).digest('hex'));
  expect(download).toMatchObject({ contentType: 'application/pdf', filename: 'angebot.pdf' });
  await source.close();
});

test('unknown folder and unknown mailbox: MAILBOX_MISSING', async () => {
  const source = createGraphSource(config());
  const iterate = async (s: MailSource, folder: string) => {
    for await (const _b of s.syncFolder(folder, null)) void _b;
  };
  await expect(iterate(source, 'AAMkNoSuchFolder')).rejects.toMatchObject({ code: 'MAILBOX_MISSING' });
  const missing = createGraphSource(config('ghost@contoso.test'));
  const err = await iterate(missing, 'inbox').catch((e) => e);
  expect(err).toBeInstanceOf(MailError);
  expect(err.code).toBe('MAILBOX_MISSING');
  expect(err.hint).toMatch(/ghost@contoso\.test/);
  await expect(missing.listFolders()).rejects.toMatchObject({ code: 'MAILBOX_MISSING' });
});

test('appendToFolder is a no-op (Graph keeps the sent copy), watch resolves a no-op stop', async () => {
  const source = createGraphSource(config());
  await expect(source.appendToFolder('sent', Buffer.from('x'))).resolves.toEqual({ path: 'sentitems' });
  const stop = await source.watch('inbox', () => undefined);
  await expect(stop()).resolves.toBeUndefined();
  await source.close();
});

test('the sync never has more than 4 requests in flight for one mailbox (attachment lists in parallel)', async () => {
  const USER = 'many-attachments@contoso.test';
  fake.addUser({ upn: USER });
  fake.addMessages(
    USER,
    'inbox',
    Array.from({ length: 30 }, (_x, i) => ({ subject: `with file ${i}`, attachments: [{ name: `f${i}.txt`, content: `file ${i}` }] })),
  );
  fake.setLatency(30);
  try {
    const store = new Store();
    await store.sync(createGraphSource(config(USER)), 'inbox', { batchSize: 50 });
    expect([...store.rows.values()].every((m) => m.attachments.length === 1)).toBe(true);
    expect(fake.maxConcurrent(USER)).toBeLessThanOrEqual(4);
    expect(fake.maxConcurrent(USER)).toBeGreaterThan(1);
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(0);
  } finally {
    fake.setLatency(0);
  }
});
