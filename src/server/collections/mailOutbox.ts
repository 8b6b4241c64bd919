import { defineCollection } from '@nocobase/database';

// Every mail the app sends passes through here: queued -> sending -> sent | failed. The MIME Message-ID is
// assigned when the row is queued, so a retry sends the same mail and a duplicate can be recognised.
export default defineCollection({
  name: 'mailOutbox',
  title: 'Mail outbox',
  dataCategory: 'system',
  migrationRules: ['schema-only'],
  createdBy: true,
  shared: true,
  fields: [
    { name: 'accountId', type: 'bigInt', allowNull: false },
    { name: 'account', type: 'belongsTo', target: 'mailAccounts', foreignKey: 'accountId' },
    { name: 'state', type: 'string', defaultValue: 'queued' },
    { name: 'message', type: 'json' },
    { name: 'messageId', type: 'string' },
    { name: 'providerMessageId', type: 'string' },
    { name: 'accepted', type: 'json' },
    { name: 'rejected', type: 'json' },
    { name: 'attempts', type: 'integer', defaultValue: 0 },
    { name: 'lastError', type: 'text' },
    { name: 'errorCode', type: 'string' },
    { name: 'leaseUntil', type: 'date' },
    { name: 'nextAttemptAt', type: 'date' },
    { name: 'sentAt', type: 'date' },
    { name: 'source', type: 'string', defaultValue: 'api' },
    { name: 'jobId', type: 'bigInt' },
    // The business record a mail is sent from: { collection, recordId }. Linking uses it.
    { name: 'link', type: 'json' },
    // Which drain claimed the entry: one conditional UPDATE claims a chunk, this finds what it won.
    { name: 'claimToken', type: 'string' },
  ],
  indexes: [{ fields: ['state', 'createdAt'] }, { fields: ['messageId'] }, { fields: ['jobId'] }, { fields: ['claimToken'] }],
});
