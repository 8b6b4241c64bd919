import { defineCollection } from '@nocobase/database';

// Attachment metadata of a stored mail. A received file stays at the provider (partId) and is streamed from there
// on each download. A sent mail's files are kept in NocoBase's file manager once it is out (fileId, a mailFiles
// record), or, without the file manager, read from its outbox entry (partId "outbox:…") until a Sent copy is
// synced; see attachments/outboxAttachments.ts.
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
  // partId: a sent mail's rows are found by their outbox part ids when its files move (attachments/outboxAttachments.ts)
  indexes: [{ fields: ['mailMessageId'] }, { fields: ['partId'] }],
});
