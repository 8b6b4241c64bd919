import { createSource, createSyncSource, MailError, utf8BodiesOf, type SyncedMessage } from '@mailbridge/mail-core';
import { makeMessage, seedMaildir, startDovecot, type Dovecot } from '@mailbridge/mail-testkit';
import { SyncWorkerSource } from '../src/providers/imap/syncWorkerSource';
import { syncWorker } from '../src/worker/workerHost';
import { accountFor, ALICE } from './helpers';

// The sync source of a long-running sync fetches and decodes in a worker thread. It must give what the source on
// the calling thread gives, and its errors must cross the thread boundary as the same MailError.
describe('IMAP sync in a worker thread', () => {
  let dc: Dovecot;
  beforeAll(async () => {
    dc = await startDovecot({ users: [ALICE] });
    const mails = Array.from({ length: 120 }, (_, i) =>
      makeMessage(i, { subject: i % 3 ? `Grüße ${i}` : undefined, attachments: i % 7 ? undefined : [{ filename: `Anhang ${i}.pdf`, content: Buffer.alloc(3000, i) }] }),
    );
    await seedMaildir(dc, ALICE.user, 'INBOX', mails);
  }, 60_000);
  afterAll(async () => dc?.stop());

  async function syncAll(source: ReturnType<typeof createSource>) {
    const added: SyncedMessage[] = [];
    let cursor: unknown = null;
    try {
      const folders = await source.listFolders();
      expect(folders.map((f) => f.path)).toContain('INBOX');
      for await (const batch of source.syncFolder('INBOX', null, { batchSize: 50 })) {
        added.push(...batch.added);
        cursor = batch.cursor;
      }
    } finally {
      await source.close();
    }
    return { added, cursor };
  }

  it('gives the same batches as the source on the calling thread', async () => {
    const inWorker = createSyncSource(accountFor(dc));
    expect(inWorker).toBeInstanceOf(SyncWorkerSource);
    const a = await syncAll(inWorker);
    const b = await syncAll(createSource(accountFor(dc)));
    expect(a.added).toHaveLength(120);
    expect(a.added).toEqual(b.added);
    expect(a.cursor).toEqual(b.cursor);
    expect(Object.prototype.toString.call(a.added[0].date)).toBe('[object Date]'); // a Date of the test's realm or not
  }, 60_000);

  it('hands text and html over as UTF-8 bytes, which read as the strings the calling thread decodes', async () => {
    const raw = Buffer.from(
      [
        'From: Jürgen <j@example.test>',
        'To: alice@example.test',
        'Subject: Bytes',
        'Message-ID: <bytes-1@example.test>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        'Grüße ✓ 😀',
        'zweite Zeile',
        '--b',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        '<p>Gr=C3=BC=C3=9Fe =E2=9C=93</p>',
        '--b--',
        '',
      ].join('\r\n'),
    );
    await seedMaildir(dc, ALICE.user, 'Bodies', [raw, makeMessage(1, { subject: 'plain only' })]);
    const read = async (source: ReturnType<typeof createSource>) => {
      const added: SyncedMessage[] = [];
      for await (const batch of source.syncFolder('Bodies', null, {})) added.push(...batch.added);
      await source.close();
      return added;
    };
    const [withHtml, plain] = await read(createSyncSource(accountFor(dc)));
    const [here, herePlain] = await read(createSource(accountFor(dc)));
    expect(utf8BodiesOf(here)).toBeUndefined();
    const bytes = utf8BodiesOf(withHtml)!;
    expect(bytes.text?.toString('utf8')).toBe('Grüße ✓ 😀\nzweite Zeile');
    expect(bytes.html?.toString('utf8')).toBe('<p>Grüße ✓</p>');
    expect(utf8BodiesOf(plain)?.html).toBeUndefined();
    expect([withHtml.text, withHtml.html, plain.text, plain.html]).toEqual([here.text, here.html, herePlain.text, herePlain.html]);
    withHtml.text = 'changed';
    expect(utf8BodiesOf(withHtml)).toBeUndefined(); // the bytes no longer say what the message does
    expect(withHtml.text).toBe('changed');
  }, 60_000);

  it('passes a wrong password on as the same MailError, hint included', async () => {
    const source = createSyncSource(accountFor(dc, 1, { auth: { method: 'password', password: 'wrong' } }));
    const err: any = await source.listFolders().catch((e) => e);
    await source.close();
    expect(err).toBeInstanceOf(MailError);
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.hint).toMatch(/user name/);
    expect(err.message).not.toContain('wrong');
  });

  it('stops a sync when its signal aborts, and a closed source refuses work', async () => {
    const source = createSyncSource(accountFor(dc));
    const abort = new AbortController();
    let batches = 0;
    const run = (async () => {
      for await (const _ of source.syncFolder('INBOX', null, { batchSize: 10, signal: abort.signal })) {
        if (++batches === 2) abort.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    expect(batches).toBeLessThan(12);
    await source.close();
    await expect(source.listFolders()).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
  }, 60_000);

  it('answers a call for a source it does not hold with an error, and goes on serving the others', async () => {
    const source = createSyncSource(accountFor(dc));
    try {
      expect((await source.listFolders()).map((f) => f.path)).toContain('INBOX');
      await expect(syncWorker.call({ op: 'listFolders', id: syncWorker.newId(), ownerId: 987654 })).rejects.toThrow(/nothing open as 987654/);
      expect((await source.listFolders()).map((f) => f.path)).toContain('INBOX');
    } finally {
      await source.close();
    }
  }, 60_000);
});
