import { defineCollection } from '@nocobase/database';

// Bookkeeping tables of linking (mailLinks itself is in collections/). Defined from registerLinking so that linking
// stays one folder; they are plain collection definitions and could move to collections/ unchanged.

/**
 * Message-ID -> thread, per account: 'self' for a stored message's own Message-ID, 'ref' for every id in its
 * In-Reply-To/References, 'subject' for the normalized subject (fuzzy threading). A new message looks up its own
 * Message-ID here to find the threads of replies that came first; rows outlive deleted messages, so a thread
 * survives a resync.
 */
export const mailMessageRefs = defineCollection({
  name: 'mailMessageRefs',
  title: 'Mail message references',
  dataCategory: 'system',
  migrationRules: ['schema-only'],
  shared: true,
  timestamps: false,
  fields: [
    { name: 'accountId', type: 'bigInt', allowNull: false },
    { name: 'refMessageId', type: 'string', allowNull: false },
    { name: 'kind', type: 'string', allowNull: false },
    { name: 'threadId', type: 'bigInt', allowNull: false },
    { name: 'mailMessageId', type: 'bigInt' },
    { name: 'date', type: 'date' },
  ],
  indexes: [{ fields: ['accountId', 'refMessageId'] }, { fields: ['threadId'] }],
});

/** One row per record created from a mail: the unique key (collection + Message-ID) makes creation happen once. */
export const mailLinkCreations = defineCollection({
  name: 'mailLinkCreations',
  title: 'Records created from mail',
  dataCategory: 'system',
  migrationRules: ['schema-only'],
  shared: true,
  fields: [
    { name: 'key', type: 'string', allowNull: false, unique: true },
    { name: 'collection', type: 'string', allowNull: false },
    { name: 'recordId', type: 'string' },
    { name: 'accountId', type: 'bigInt' },
    { name: 'messageId', type: 'string' },
    { name: 'sender', type: 'string' },
  ],
});

/** New mail per sender, for the storm limit; rows older than a day are pruned. */
export const mailSenderActivity = defineCollection({
  name: 'mailSenderActivity',
  title: 'Mail sender activity',
  dataCategory: 'system',
  migrationRules: ['schema-only'],
  shared: true,
  timestamps: false,
  fields: [
    { name: 'accountId', type: 'bigInt', allowNull: false },
    { name: 'sender', type: 'string', allowNull: false },
    { name: 'at', type: 'date', allowNull: false },
  ],
  indexes: [{ fields: ['accountId', 'sender', 'at'] }, { fields: ['at'] }],
});

export function defineLinkingCollections(db: any) {
  for (const options of [mailMessageRefs, mailLinkCreations, mailSenderActivity]) {
    if (!db.hasCollection(options.name)) db.collection(options);
  }
}
