// JSON list fields that start out empty. The default is set here on create, not as a column default: NocoBase's
// sync never sees a JSON column default as equal to the declared one and "changes" the column, which SQLite
// does by rebuilding the table — dropping every index on it at each db.sync().
export const JSON_ARRAY_FIELDS: Record<string, string[]> = {
  mailAccounts: ['aliases', 'userIds', 'roleNames'],
  mailMessages: ['references', 'to', 'cc', 'bcc', 'replyTo', 'flags'],
  mailThreads: ['participants'],
  mailOutbox: ['accepted', 'rejected'],
};

export function fillJsonArrayDefaults(db: any) {
  for (const [collection, fields] of Object.entries(JSON_ARRAY_FIELDS)) {
    const fill = (instance: any) => {
      for (const field of fields) if (instance.get(field) == null) instance.set(field, []);
    };
    db.on(`${collection}.beforeCreate`, fill);
    db.on(`${collection}.beforeBulkCreate`, (instances: any[]) => instances.forEach(fill));
  }
}
