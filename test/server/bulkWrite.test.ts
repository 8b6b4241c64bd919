import { Op } from '@nocobase/database';
import { insertRows, updateRows } from '../../src/server/db/bulkWrite';
import { writeTransaction } from '../../src/server/db/writeTransaction';
import { createTestApp, TestApp } from '../support/nocobase';

// insertRows / updateRows write without Sequelize models. What they write must read back through the models exactly
// as what Sequelize itself writes (dates, JSON, booleans, big ids), on SQLite and PostgreSQL alike, and sort the same.
describe('bulk writes without models', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.destroy();
  });

  const values = (i: number) => ({
    accountId: 4242,
    folder: 'INBOX',
    providerId: `bulk-${i}`,
    messageId: `<bulk-${i}@example.test>`,
    references: ['<a@x>', `<b${i}@x>`],
    threadId: null,
    direction: 'in',
    from: { name: 'Jürgen "J" O\'Brien', address: 'j@example.test' },
    to: [{ address: 'alice@example.test' }],
    cc: [],
    bcc: [],
    replyTo: [],
    subject: `Grüße ${i} ' ; -- ?`,
    date: new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 123) + i * 1000),
    snippet: 'snippet',
    text: 'line 1\nline 2 ? $1 :name',
    html: null,
    flags: ['\\Seen'],
    seen: i % 2 === 0,
    size: 1234 + i,
    hasAttachments: true,
    headers: { listId: '<list.example.test>' },
    parseError: null,
  });
  const readable = (row: any) => {
    const json = row.toJSON();
    delete json.id;
    delete json.createdAt;
    delete json.updatedAt;
    return json;
  };

  it('inserted rows read back like rows Sequelize created, with their ids in row order', async () => {
    const Messages = t.db.getModel('mailMessages');
    const viaModel = await Messages.create({ ...values(0), providerId: 'model-0' });
    const ids = await t.db.sequelize.transaction(writeTransaction(t.db), (transaction: any) =>
      insertRows(t.db, 'mailMessages', [1, 2, 3].map(values), transaction),
    );
    expect(ids).toHaveLength(3);
    for (const [i, id] of ids.entries()) {
      const row = await Messages.findByPk(id);
      expect(row.get('providerId')).toBe(`bulk-${i + 1}`);
      expect(readable(row)).toEqual({ ...readable(await Messages.findByPk(viaModel.get('id'))), ...values(i + 1) });
      expect(row.get('createdAt')).toBeInstanceOf(Date);
    }
    // dates sort the same whoever wrote them
    const ordered = await Messages.findAll({ where: { accountId: values(0).accountId }, order: [['date', 'DESC']] });
    expect(ordered.map((r: any) => r.get('providerId'))).toEqual(['bulk-3', 'bulk-2', 'bulk-1', 'model-0']);
    const since = await Messages.count({ where: { accountId: values(0).accountId, date: { [Op.gt]: values(1).date } } });
    expect(since).toBe(2);
  });

  it('stores each value with the storage type Sequelize gives it (numbers stay numbers, JSON stays its text)', async () => {
    const Messages = t.db.getModel('mailMessages');
    const odd = { ...values(20), accountId: 4444, subject: '[1,"x"]', headers: { n: 1.5, s: '{"not":"json"}', u: '\u2028 ✓' }, size: 0 };
    const viaModel = await Messages.create({ ...odd, providerId: 'model-20' });
    const [id] = await insertRows(t.db, 'mailMessages', [odd]);
    const table = Messages.getTableName();
    const columns = Object.values(Messages.rawAttributes)
      .map((a: any) => a.field)
      .filter((c: string) => !['id', 'providerId', 'createdAt', 'updatedAt'].includes(c));
    const stored = async (rowId: unknown) => {
      const select = columns.map((c: string) => `typeof(\`${c}\`) AS \`t_${c}\`, \`${c}\``).join(', ');
      const [row] = await t.db.sequelize.query(`SELECT ${select} FROM \`${table}\` WHERE id = ?`, { replacements: [rowId], type: 'SELECT' });
      return row;
    };
    expect((await Messages.findByPk(id)).get('headers')).toEqual(odd.headers);
    // typeof() is SQLite's (PostgreSQL's columns have one type each)
    if (t.db.inDialect('sqlite')) expect(await stored(id)).toEqual(await stored(viaModel.get('id')));
  });

  it('stores text given as UTF-8 bytes as text, beside rows that give it as a string', async () => {
    const Messages = t.db.getModel('mailMessages');
    const text = 'Grüße ✓ 😀\nline 2 ? $1';
    const rows = [
      { ...values(10), accountId: 4343, text: Buffer.from(text, 'utf8'), html: new Uint8Array(Buffer.from('<p>✓</p>')) },
      { ...values(11), accountId: 4343, text: 'as a string ✓', html: null },
      { ...values(12), accountId: 4343, text: Buffer.alloc(0), html: null },
    ];
    const ids = await insertRows(t.db, 'mailMessages', rows);
    const read = await Promise.all(ids.map((id) => Messages.findByPk(id)));
    expect(read.map((r: any) => [r.get('text'), r.get('html')])).toEqual([
      [text, '<p>✓</p>'],
      ['as a string ✓', null],
      ['', null],
    ]);
    // and found by text like any other row
    expect(await Messages.count({ where: { accountId: 4343, text: { [Op.like]: '%✓ 😀%' } } })).toBe(1);
  });

  it('answers ids without a transaction too, and nothing for no rows', async () => {
    expect(await insertRows(t.db, 'mailThreads', [])).toEqual([]);
    const [id] = await insertRows(t.db, 'mailThreads', [{ accountId: 1, subject: 'x', participants: ['a@x'], messageCount: 0 }]);
    const thread = await t.db.getModel('mailThreads').findByPk(id);
    expect(thread.get('participants')).toEqual(['a@x']);
  });

  it('concurrent single-row inserts (one prepared statement on SQLite) each answer the id of their own row', async () => {
    const subjects = Array.from({ length: 30 }, (_, i) => `concurrent ${i}`);
    const ids = await Promise.all(subjects.map((subject) => insertRows(t.db, 'mailThreads', [{ accountId: 7, subject, participants: [], messageCount: 0 }])));
    expect(new Set(ids.flat()).size).toBe(30);
    const rows = await t.db.getModel('mailThreads').findAll({ where: { accountId: 7 }, raw: true });
    const subjectOf = new Map(rows.map((r: any) => [String(r.id), r.subject]));
    expect(ids.map(([id]) => subjectOf.get(id))).toEqual(subjects);
  });

  it('updates each row with its own values in one statement', async () => {
    const Outbox = t.db.getModel('mailOutbox');
    const made = await Promise.all([1, 2].map((i) => Outbox.create({ accountId: 1, state: 'sending', messageId: `<o${i}@x>`, message: { subject: 's' } })));
    const sentAt = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6));
    await updateRows(
      t.db,
      'mailOutbox',
      made.map((entry: any, i: number) => ({
        id: String(entry.get('id')),
        values: { state: 'sent', providerMessageId: `q-${i}`, accepted: [`to${i}@x`], rejected: [], sentAt, leaseUntil: null, lastError: null },
      })),
    );
    const [a, b] = await Promise.all(made.map((entry: any) => Outbox.findByPk(entry.get('id'))));
    expect([a.get('state'), a.get('providerMessageId'), a.get('accepted'), a.get('sentAt')]).toEqual(['sent', 'q-0', ['to0@x'], sentAt]);
    expect([b.get('state'), b.get('providerMessageId'), b.get('accepted'), b.get('rejected')]).toEqual(['sent', 'q-1', ['to1@x'], []]);
    expect(a.get('message')).toEqual({ subject: 's' });
  });
});

// insertRows keeps its prepared statements per SQLite connection; SQLite refuses to close a connection with
// statements open, and Sequelize closes them (per transaction in a file, all of them at the end) without knowing.
test('on SQLite in a file, connections that ran insertRows still close, in and out of transactions', async () => {
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const { Database } = await import('@nocobase/database');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbridge-bulk-close-'));
  const db: any = new Database({ dialect: 'sqlite', storage: path.join(dir, 'close.sqlite'), logging: false });
  try {
    db.collection({ name: 'bulkCloseRows', fields: [{ type: 'string', name: 'label' }, { type: 'json', name: 'data' }] });
    await db.sync();
    const errors: Error[] = [];
    const outside = await db.sequelize.connectionManager.getConnection({});
    outside.on('error', (err: Error) => errors.push(err));
    expect(await insertRows(db, 'bulkCloseRows', [{ label: 'a', data: { n: 1 } }])).toHaveLength(1);
    expect(await insertRows(db, 'bulkCloseRows', [{ label: 'b', data: { n: 2 } }])).toHaveLength(1);
    let inside: any;
    await db.sequelize.transaction(async (transaction: any) => {
      inside = transaction.connection;
      inside.on('error', (err: Error) => errors.push(err));
      await insertRows(db, 'bulkCloseRows', [{ label: 'c', data: null }], transaction);
    });
    await new Promise((r) => setTimeout(r, 100)); // the transaction's connection closes without a callback
    expect(inside.open).toBe(false);
    expect((await db.getModel('bulkCloseRows').findAll({ order: [['id', 'ASC']], raw: true })).map((r: any) => r.label)).toEqual(['a', 'b', 'c']);
    await db.close();
    expect(outside.open).toBe(false);
    expect(errors).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
