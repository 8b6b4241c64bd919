import type { Application } from '@nocobase/server';

// NocoBase's sync can create a table before all of its fields are attached (when an association of another
// collection creates it first), and on SQLite the declared indexes of such tables were then never created —
// among them the ones threading and the inbox depend on. This adds every declared index that is missing;
// cheap and idempotent, so it runs on every start.
export async function ensureIndexes(app: Application, collectionNames: string[]) {
  const queryInterface = app.db.sequelize.getQueryInterface();
  for (const name of collectionNames) {
    const collection: any = app.db.getCollection(name);
    if (!collection) continue;
    const model = collection.model;
    const table = model.getTableName();
    const existing: any[] = (await queryInterface.showIndex(table)) as any;
    const signature = (fields: any[]) => fields.map((f) => (typeof f === 'string' ? f : f.attribute ?? f.name)).join(',');
    const have = new Set(existing.map((index) => signature(index.fields ?? [])));
    const haveNames = new Set(existing.map((index) => index.name));
    for (const index of model._indexes ?? []) {
      if (have.has(signature(index.fields)) || haveNames.has(index.name)) continue;
      try {
        await queryInterface.addIndex(table, index.fields, { name: index.name, unique: Boolean(index.unique) });
        app.log.info(`mail: created missing index ${index.name} on ${name}`);
      } catch (err: any) {
        // e.g. duplicate rows block a unique index: the app still starts, the log says what to clean up.
        app.log.error(`mail: could not create index ${index.name} on ${name}: ${err.message}`);
      }
    }
  }
}
