import { defineCollection } from '@nocobase/database';

// A thread filed on a business record. Links belong to threads, so every message of the thread (and every later
// reply) inherits them; mailMessageId names the message that made the link. recordId is kept as a string so that
// records of any key type fit.
export default defineCollection({
  name: 'mailLinks',
  title: 'Mail links',
  dataCategory: 'system',
  migrationRules: ['schema-only'],
  shared: true,
  fields: [
    { name: 'threadId', type: 'bigInt', allowNull: false },
    { name: 'thread', type: 'belongsTo', target: 'mailThreads', foreignKey: 'threadId' },
    { name: 'accountId', type: 'bigInt' },
    { name: 'mailMessageId', type: 'bigInt' },
    { name: 'collection', type: 'string', allowNull: false },
    { name: 'recordId', type: 'string', allowNull: false },
    // 'thread' | 'agent-address' | 'subject-token' | 'participant' | 'created' | 'manual' | 'outgoing'
    { name: 'linkedBy', type: 'string', allowNull: false },
    // set by linking itself (links are mostly made without a request), hence not the createdBy field type
    { name: 'createdById', type: 'bigInt' },
    { name: 'createdBy', type: 'belongsTo', target: 'users', foreignKey: 'createdById' },
  ],
  indexes: [
    { unique: true, fields: ['threadId', 'collection', 'recordId'] },
    { fields: ['collection', 'recordId'] },
    { fields: ['accountId'] },
  ],
});
