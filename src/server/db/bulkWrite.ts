// Writes of many rows that need no model hooks. Sequelize's bulkCreate builds a model instance per row and escapes
// every value into one SQL string (for a sync batch: 500 mails with their text and html, megabytes escaped, copied
// and scanned by regular expressions again), and an update per row is a statement per row. Here: one INSERT or one
// UPDATE per chunk with bound parameters, values in the format Sequelize itself writes, so reading them through the
// models is unchanged.

/** Bound parameters per INSERT, below SQLite's limit (32766) and PostgreSQL's (65535). */
const MAX_PARAMETERS = 30_000;
/** Per UPDATE: each row binds its id twice and every value once, so a chunk stays short. */
const MAX_UPDATE_PARAMETERS = 2_000;

type Converter = (value: unknown) => unknown;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Sequelize's SQLite DATETIME text: "2024-01-31 23:59:59.123 +00:00". */
function sqliteDate(value: unknown): unknown {
  const date = value instanceof Date ? value : new Date(value as string);
  if (Number.isNaN(date.getTime())) return null;
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)} +00:00`
  );
}

const typeKey = (attribute: any) => String(attribute?.type?.key ?? attribute?.type?.constructor?.key ?? '').toUpperCase();

/** PostgreSQL types a bound parameter (text when it cannot tell) must be cast to, by Sequelize type. */
const PG_CASTS: Record<string, string> = {
  JSON: 'json',
  JSONB: 'jsonb',
  DATE: 'timestamptz',
  DATEONLY: 'date',
  BOOLEAN: 'boolean',
  INTEGER: 'integer',
  BIGINT: 'bigint',
  FLOAT: 'double precision',
  DOUBLE: 'double precision',
  DECIMAL: 'numeric',
};

function converterFor(attribute: any, sqlite: boolean): Converter {
  const key = typeKey(attribute);
  if (key === 'JSON' || key === 'JSONB') return (v) => (v === null || v === undefined ? null : JSON.stringify(v));
  if (key === 'DATE' || key === 'DATEONLY') return sqlite ? (v) => (v == null ? null : sqliteDate(v)) : (v) => v ?? null;
  if (key === 'BOOLEAN') return sqlite ? (v) => (v == null ? null : v ? 1 : 0) : (v) => v ?? null;
  return (v) => (v === undefined ? null : v);
}

/** Prepared statements kept per SQLite connection (the most recent ones): an outbox INSERT is the same every time. */
const KEPT_STATEMENTS = 16;
const statements = new WeakMap<object, Map<string, any>>();

function preparedOn(connection: any, sql: string) {
  let kept = statements.get(connection);
  if (!kept) {
    statements.set(connection, (kept = new Map()));
    finalizeBeforeClose(connection, kept);
  }
  let statement = kept.get(sql);
  kept.delete(sql);
  statement ??= connection.prepare(sql);
  kept.set(sql, statement); // most recent last
  if (kept.size > KEPT_STATEMENTS) forgetStatement(connection, kept.keys().next().value as string);
  return statement;
}

// SQLite refuses to close a connection with statements not finalized (SQLITE_BUSY), and Sequelize closes its
// connections (per transaction in a file, all at the end) without knowing of ours.
function finalizeBeforeClose(connection: any, kept: Map<string, any>) {
  const close = connection.close.bind(connection);
  connection.close = (callback?: (err: Error | null) => void) => {
    const open = [...kept.values()];
    kept.clear();
    let left = open.length;
    if (!left) return close(callback);
    for (const statement of open) statement.finalize(() => --left || close(callback));
    return connection;
  };
}

function forgetStatement(connection: any, sql: string) {
  const kept = statements.get(connection);
  kept?.get(sql)?.finalize(() => undefined);
  kept?.delete(sql);
}

/**
 * Runs a statement with positional parameters (`?`) and answers its rows (those of RETURNING, if any). On SQLite it
 * goes to the connection itself, as a prepared statement kept for the next call: Sequelize would prepare it anew
 * each time, rewrite the SQL for its bind parameters with regular expressions, and bind them by name ($1 … $n),
 * which SQLite resolves by a linear search per parameter, quadratic for the thousands of parameters of one
 * statement (seconds per sync batch).
 */
async function runPositional(db: any, sql: string, bind: unknown[], transaction: any): Promise<Array<{ id: unknown }>> {
  // outside a transaction: the connection Sequelize itself would use (its "default" one)
  const connection = db.inDialect('sqlite') ? (transaction?.connection ?? (await db.sequelize.connectionManager.getConnection({}))) : undefined;
  if (typeof connection?.prepare === 'function') {
    const statement = preparedOn(connection, sql);
    return new Promise((resolve, reject) =>
      statement.all(bind, (err: Error | null, rows: Array<{ id: unknown }>) => {
        if (!err) return resolve(rows);
        forgetStatement(connection, sql);
        reject(Object.assign(err, { sql }));
      }),
    );
  }
  let n = 0;
  // Sequelize's SQLite driver runs a statement that begins with INSERT without reading its rows; the leading
  // comment makes it read them (RETURNING) like a SELECT
  const numbered = `/* bulkWrite */ ${sql.replace(/\?/g, () => `$${++n}`)}`;
  return db.sequelize.query(numbered, { bind, transaction, type: 'SELECT', raw: true });
}

const columnSets = new WeakMap<object, Map<string, ReturnType<typeof columnSet>>>();

function columnSet(db: any, model: any, keys: string[], stamps: string[]) {
  const sqlite = db.inDialect('sqlite');
  const q = db.sequelize.getQueryInterface().queryGenerator;
  const attributes = keys.filter((name) => model.rawAttributes[name]);
  const all = [...attributes, ...stamps.filter((name) => model.rawAttributes[name] && !attributes.includes(name))];
  const quote = (name: string) => q.quoteIdentifier(model.rawAttributes[name].field ?? name);
  return {
    model,
    sqlite,
    all,
    given: attributes.length,
    convert: all.map((name) => converterFor(model.rawAttributes[name], sqlite)),
    /** TEXT columns: values that may be long */
    long: all.map((name) => typeKey(model.rawAttributes[name]) === 'TEXT'),
    table: q.quoteTable(model.getTableName()),
    quote,
    idColumn: quote(model.primaryKeyAttribute),
  };
}

/**
 * The columns a bulk write sets: the given attributes the model has, then the timestamps it has and the rows do not
 * bring (set to now). `value(row, i)` is column i of a row in the format Sequelize writes. Worked out once per
 * model and set of keys.
 */
function columnsOf(db: any, collection: string, keys: string[], stamps: string[]) {
  const model = db.getModel(collection);
  const cacheKey = `${keys.join(',')}|${stamps.join(',')}`;
  let sets = columnSets.get(model);
  if (!sets) columnSets.set(model, (sets = new Map()));
  let set = sets.get(cacheKey);
  if (!set) sets.set(cacheKey, (set = columnSet(db, model, keys, stamps)));
  const { all, given, convert } = set;
  const now = new Date();
  return { ...set, value: (row: Record<string, unknown>, i: number) => convert[i](i < given ? row[all[i]] : now) };
}

/** Text given as UTF-8 bytes (see insertRows), decoded where a string is needed. */
export const textOfUtf8 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/** A placeholder for text given as UTF-8 bytes: the database decodes them (a Buffer alone would be stored as a blob). */
const textFromUtf8 = (db: any) => (db.inDialect('sqlite') ? 'CAST(? AS TEXT)' : "convert_from(?, 'UTF8')");

/**
 * Inserts plain rows (attribute names as keys, every row with the same keys) into a collection's table and answers
 * the generated ids in row order. createdAt/updatedAt are set when the model has them. No model hooks run. A text
 * value may come as UTF-8 bytes (a Uint8Array); it is stored as text.
 */
export async function insertRows(db: any, collection: string, rows: Array<Record<string, unknown>>, transaction?: any): Promise<string[]> {
  if (!rows.length) return [];
  if (!db.inDialect('sqlite', 'postgres')) {
    // no RETURNING: Sequelize's bulkCreate knows how the dialect reports generated ids
    const model = db.getModel(collection);
    const asText = (row: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Uint8Array ? textOfUtf8(v) : v]));
    const created = await model.bulkCreate(rows.map(asText), { transaction });
    return created.map((row: any) => String(row.get(model.primaryKeyAttribute)));
  }
  const columns = columnsOf(db, collection, Object.keys(rows[0]), ['createdAt', 'updatedAt']);
  const statementOf = columns.sqlite ? packedInsert : plainInsert;
  const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.all.length));
  const ids: string[] = [];
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const { sql, bind } = statementOf(db, columns, chunk);
    const returned = await runPositional(db, sql, bind, transaction);
    if (returned.length !== chunk.length) throw new Error(`INSERT into ${collection} returned ${returned.length} ids for ${chunk.length} rows.`);
    // ids come from one counter, in the order the VALUES are inserted; RETURNING itself promises no order
    ids.push(...returned.map((r) => BigInt(r.id as string)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String));
  }
  return ids;
}

type Columns = ReturnType<typeof columnsOf>;
type Rows = Array<Record<string, unknown>>;

/** Which columns of these rows hold text given as UTF-8 bytes (in any row). */
const utf8Columns = (columns: Columns, rows: Rows) => columns.all.map((name) => rows.some((row) => row[name] instanceof Uint8Array));

/** Column i of a row as bound: bytes where the column is bound as UTF-8, else the value as Sequelize writes it. */
function bound(columns: Columns, row: Record<string, unknown>, i: number, utf8: boolean): unknown {
  const v = columns.value(row, i);
  return utf8 && typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** INSERT … VALUES (?, …), … with one parameter per value. */
function plainInsert(db: any, columns: Columns, rows: Rows) {
  const utf8 = utf8Columns(columns, rows);
  const tuple = `(${utf8.map((bytes) => (bytes ? textFromUtf8(db) : '?')).join(', ')})`;
  const bind: unknown[] = [];
  for (const row of rows) for (let i = 0; i < columns.all.length; i++) bind.push(bound(columns, row, i, utf8[i]));
  const sql = `INSERT INTO ${columns.table} (${columns.all.map(columns.quote).join(', ')}) VALUES ${rows.map(() => tuple).join(', ')} RETURNING ${columns.idColumn} AS id`;
  return { sql, bind };
}

/**
 * SQLite: the short values of a row travel as one JSON array, unpacked by SQLite (`->>` gives back the string,
 * number or NULL that was packed; JSON columns are packed as the text Sequelize writes). Binding costs the main
 * thread about a microsecond per parameter: a sync batch of 500 mails had 14,000 of them, now 3,000. Text columns
 * and text given as bytes stay parameters of their own, so long values are neither escaped nor parsed as JSON.
 */
function packedInsert(db: any, columns: Columns, rows: Rows) {
  const utf8 = utf8Columns(columns, rows);
  const own = columns.all.map((name, i) => utf8[i] || columns.long[i]);
  const packed = columns.all.flatMap((_, i) => (own[i] ? [] : [i]));
  const single = columns.all.flatMap((_, i) => (own[i] ? [i] : []));
  if (!packed.length) return plainInsert(db, columns, rows);
  const tuple = `(?${single.map((i) => (utf8[i] ? `, ${textFromUtf8(db)}` : ', ?')).join('')})`;
  const bind: unknown[] = [];
  for (const row of rows) {
    const short = new Array(packed.length);
    for (let k = 0; k < packed.length; k++) short[k] = columns.value(row, packed[k]);
    bind.push(JSON.stringify(short));
    for (const i of single) bind.push(bound(columns, row, i, utf8[i]));
  }
  const select = [...packed.map((_, k) => `column1 ->> ${k}`), ...single.map((_, k) => `column${k + 2}`)];
  const names = [...packed, ...single].map((i) => columns.quote(columns.all[i])).join(', ');
  const sql =
    `INSERT INTO ${columns.table} (${names}) SELECT ${select.join(', ')} FROM (VALUES ${rows.map(() => tuple).join(', ')}) ` +
    `RETURNING ${columns.idColumn} AS id`;
  return { sql, bind };
}

/**
 * Updates rows by id, each with its own values (every row with the same keys), in one statement per chunk:
 * UPDATE … SET column = CASE id WHEN … THEN … END … WHERE id IN (…). No model hooks run, updatedAt is set.
 */
export async function updateRows(db: any, collection: string, rows: Array<{ id: string; values: Record<string, unknown> }>, transaction?: any): Promise<void> {
  if (!rows.length) return;
  const { model, sqlite, all, table, quote, idColumn, value } = columnsOf(db, collection, Object.keys(rows[0].values), ['updatedAt']);
  const castOf = (name: string) => (sqlite ? undefined : PG_CASTS[typeKey(model.rawAttributes[name])]);
  const idCast = castOf(model.primaryKeyAttribute);
  const perStatement = Math.max(1, Math.floor(MAX_UPDATE_PARAMETERS / (2 * all.length + 1)));
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const bind: unknown[] = [];
    const mark = (v: unknown, cast?: string) => {
      bind.push(v);
      return cast ? `CAST(? AS ${cast})` : '?';
    };
    const sets = all.map((name, i) => {
      const cases = chunk.map((row) => `WHEN ${mark(row.id, idCast)} THEN ${mark(value(row.values, i), castOf(name))}`);
      return `${quote(name)} = CASE ${idColumn} ${cases.join(' ')} END`;
    });
    const ids = chunk.map((row) => mark(row.id, idCast)).join(', ');
    await runPositional(db, `UPDATE ${table} SET ${sets.join(', ')} WHERE ${idColumn} IN (${ids})`, bind, transaction);
  }
}
