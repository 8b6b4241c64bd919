import { defineCollection } from '@nocobase/database';

// Files Mailbridge keeps in NocoBase's file manager (its default storage): today, the files of sent mail once
// they left the outbox (attachments/keptFiles.ts). A file collection of its own, not the file manager's
// "attachments": that one is a resource of every role's data strategy, and a mail's files are for the users of its
// account only. Its rows go with the mail attachment rows that point at them (mailAttachments.fileId).
export default defineCollection({
  name: 'mailFiles',
  title: 'Mail files',
  template: 'file',
  dataCategory: 'system',
  migrationRules: ['schema-only'],
  shared: true,
  fields: [
    { name: 'title', type: 'string' },
    { name: 'filename', type: 'string' },
    { name: 'extname', type: 'string' },
    { name: 'size', type: 'integer' },
    { name: 'mimetype', type: 'string' },
    { name: 'path', type: 'text' },
    { name: 'meta', type: 'json', defaultValue: {} },
    { name: 'url', type: 'text' },
    { name: 'storageId', type: 'bigInt' },
  ],
});
