import { defineCollection } from '@nocobase/database';

// The sync cursor of one folder of one account. Written in the same transaction as the messages it covers,
// so the cursor never runs ahead of what is stored.
export default defineCollection({
  name: 'mailSyncState',
  title: 'Mail sync state',
  dataCategory: 'system',
  migrationRules: ['schema-only'],
  shared: true,
  fields: [
    { name: 'accountId', type: 'bigInt', allowNull: false },
    { name: 'folder', type: 'string', allowNull: false },
    { name: 'specialUse', type: 'string' },
    { name: 'cursor', type: 'json' },
    { name: 'lastSyncAt', type: 'date' },
    { name: 'messageCount', type: 'integer', defaultValue: 0 },
  ],
  indexes: [{ unique: true, fields: ['accountId', 'folder'] }],
});
