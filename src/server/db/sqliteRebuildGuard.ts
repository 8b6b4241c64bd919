import { JSON_ARRAY_FIELDS } from '../collections/jsonArrayDefaults';

// Databases created before jsonArrayDefaults.ts have `DEFAULT '[]'` on those JSON columns. Left to NocoBase, the
// next db.sync() would remove the defaults with Sequelize's SQLite changeColumn, which rebuilds the table from
// describeTable() — and that reads a composite unique index as a unique constraint on each of its columns, so the
// copy fails on the first provider id found in two folders and the app does not start. Before the sync, such a
// table is rebuilt here the way SQLite documents it: same columns without those defaults, the rows copied as they
// are, every index re-created from its own definition, all in one transaction.
export function guardSqliteRebuilds(db: any) {
  if (!db.inDialect('sqlite')) return;
  db.sequelize.addHook('beforeBulkSync', 'mailbridge-json-defaults', async () => {
    for (const [name, fields] of Object.entries(JSON_ARRAY_FIELDS)) {
      const model = db.getCollection(name)?.model;
      if (model) await dropJsonDefaults(db, model.getTableName(), fields.map((f) => model.rawAttributes[f]?.field ?? f));
    }
  });
}

async function dropJsonDefaults(db: any, table: string, columns: string[]) {
  const query = (sql: string, options: any = {}) => db.sequelize.query(sql, { raw: true, ...options });
  const [[definition]] = await query(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :table`, {
    replacements: { table },
  });
  if (!definition) return; // not created yet
  let createSql: string = definition.sql;
  for (const column of columns) createSql = createSql.replace(`\`${column}\` JSON DEFAULT '[]'`, `\`${column}\` JSON`);
  if (createSql === definition.sql) return;
  await dropLeftoverBackup(db, table);
  const [indexes] = await query(`SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table AND sql IS NOT NULL`, {
    replacements: { table },
  });
  const fresh = `${table}_mailbridge_rebuild`;
  await db.sequelize.transaction(async (transaction: any) => {
    await query(`DROP TABLE IF EXISTS \`${fresh}\``, { transaction });
    await query(createSql.replace(/^CREATE TABLE `[^`]+`/, `CREATE TABLE \`${fresh}\``), { transaction });
    await query(`INSERT INTO \`${fresh}\` SELECT * FROM \`${table}\``, { transaction });
    await query(`DROP TABLE \`${table}\``, { transaction });
    await query(`ALTER TABLE \`${fresh}\` RENAME TO \`${table}\``, { transaction });
    for (const index of indexes) await query(index.sql, { transaction });
  });
}

// A rebuild that failed before (Sequelize's) leaves `<table>_backup` behind. It is dropped only when it holds no
// more rows than the table itself, i.e. when the table still has all the data.
async function dropLeftoverBackup(db: any, table: string) {
  const backup = `${table}_backup`;
  const [found] = await db.sequelize.query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = :backup`, {
    replacements: { backup },
  });
  if (!found.length) return;
  const count = async (name: string) => Number((await db.sequelize.query(`SELECT COUNT(*) AS n FROM \`${name}\``))[0][0].n);
  if ((await count(backup)) > (await count(table))) {
    throw new Error(`${backup} holds more rows than ${table}: an earlier rebuild failed half-way; restore ${table} from it.`);
  }
  await db.sequelize.query(`DROP TABLE \`${backup}\``);
}
