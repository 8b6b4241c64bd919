import { defineCollection } from '@nocobase/database';

// Attachment metadata of a stored mail. The content stays at the provider (partId) and is streamed from there on
// each download; the files of a sent mail are read from its outbox entry until a Sent copy is synced (partId
// "outbox:…", see attachments/outboxAttachments.ts). fileId is not written yet: nothing is copied into NocoBase's
// file manager.
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
