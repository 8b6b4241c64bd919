import { defineCollection } from '@nocobase/database';

// Attachment metadata of a stored mail. The content stays at the provider (partId) until someone downloads it;
// then it is kept through NocoBase's file manager (fileId).
export default defineCollection({
  name: 'mailAttachments',
  title: 'Mail attachments',
  dataCategory: 'system',
  migrationRules: ['schema-only'],
  shared: true,
  fields: [
    { name: 'mailMessageId', type: 'bigInt', allowNull: false },
    { name: 'message', type: 'belongsTo', target: 'mailMessages', foreignKey: 'mailMessageId' },
    { name: 'filename', type: 'string' },
    { name: 'contentType', type: 'string' },
    { name: 'size', type: 'integer' },
    { name: 'partId', type: 'string' },
    { name: 'cid', type: 'string' },
    { name: 'disposition', type: 'string' },
    { name: 'fileId', type: 'bigInt' },
  ],
  indexes: [{ fields: ['mailMessageId'] }],
});
