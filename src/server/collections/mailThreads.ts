import { defineCollection } from '@nocobase/database';

// A conversation: messages joined by In-Reply-To/References or a provider's conversation id.
export default defineCollection({
  name: 'mailThreads',
  title: 'Mail threads',
  dataCategory: 'system',
  migrationRules: ['schema-only'],
  shared: true,
  fields: [
    { name: 'accountId', type: 'bigInt' },
    { name: 'subject', type: 'text' },
    { name: 'providerThreadId', type: 'string' },
    { name: 'lastMessageAt', type: 'date' },
    { name: 'messageCount', type: 'integer', defaultValue: 0 },
    { name: 'participants', type: 'json' },
    { name: 'messages', type: 'hasMany', target: 'mailMessages', foreignKey: 'threadId' },
  ],
  indexes: [{ fields: ['providerThreadId'] }, { fields: ['accountId', 'lastMessageAt'] }],
});
