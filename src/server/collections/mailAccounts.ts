import { defineCollection } from '@nocobase/database';

// One mail account of any provider. Provider-specific settings live in `settings` (plain JSON, no secrets);
// secrets live encrypted in `secrets` and never leave the server (see accounts/accountSecrets.ts).
export default defineCollection({
  name: 'mailAccounts',
  title: 'Mail accounts',
  dataCategory: 'system',
  migrationRules: ['overwrite', 'schema-only'],
  createdBy: true,
  updatedBy: true,
  shared: true,
  fields: [
    { name: 'id', type: 'snowflakeId', primaryKey: true, allowNull: false },
    { name: 'title', type: 'string', allowNull: false },
    {
      name: 'provider',
      type: 'string',
      allowNull: false,
      // 'ms365-app' | 'ms365-delegated' | 'smtp-imap' | 'smtp' | 'ses' | 'sendgrid'
    },
    { name: 'address', type: 'string', allowNull: false },
    { name: 'aliases', type: 'json' },
    { name: 'enabled', type: 'boolean', defaultValue: true },
    { name: 'settings', type: 'json', defaultValue: {} },
    { name: 'secrets', type: 'text', hidden: true },
    { name: 'status', type: 'string', defaultValue: 'new' },
    { name: 'lastSyncAt', type: 'date' },
    { name: 'lastSuccessAt', type: 'date' },
    { name: 'lastError', type: 'text' },
    // the MailError code of lastError (AUTH_FAILED, TLS_MISMATCH …)
    { name: 'lastErrorCode', type: 'string' },
    { name: 'consecutiveFailures', type: 'integer', defaultValue: 0 },
    { name: 'syncProgress', type: 'json' },
    // A database lease, so that one node of a cluster syncs an account at a time and a killed node's lease expires.
    { name: 'syncLeaseOwner', type: 'string', hidden: true },
    { name: 'syncLeaseUntil', type: 'date' },
    { name: 'userIds', type: 'json' },
    { name: 'roleNames', type: 'json' },
  ],
  indexes: [{ fields: ['address'] }],
});
