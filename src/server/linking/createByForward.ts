import crypto from 'crypto';
import { Op } from '@nocobase/database';
import { chunks } from '../sync/threading';
import type { CreateByForwardRule, ForwardFieldSource } from './linkingSettings';
import type { MessageRow } from './messageRow';
import type { OriginalSender } from './forwarded';
import { collectionOf, primaryKeyOf } from './records';
import { stripReplyPrefixes } from './tokens';

// A mail to the agent address that belongs to no record creates one. Exactly one, even when the same mail is
// stored twice (two folders, a resync, two nodes): the creation is keyed on collection + Message-ID in
// mailLinkCreations (unique), and the key row and the record are written in one transaction.

/** What identifies a mail across folders and copies: its Message-ID, else a hash of sender, date and subject. */
export function messageKey(row: Pick<MessageRow, 'messageId' | 'fromAddress' | 'date' | 'subject'>): string {
  if (row.messageId) return row.messageId.slice(0, 200);
  const hash = crypto
    .createHash('sha1')
    .update(`${row.fromAddress ?? ''}|${row.date.toISOString()}|${row.subject ?? ''}`)
    .digest('hex');
  return `h:${hash}`;
}

export const creationKey = (collection: string, row: MessageRow) => `${collection}|${messageKey(row)}`;

/** Creation keys -> the record they created. */
export async function existingCreations(db: any, keys: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const part of chunks([...new Set(keys)], 500)) {
    const rows = await db.getModel('mailLinkCreations').findAll({
      attributes: ['key', 'recordId'],
      where: { key: { [Op.in]: part }, recordId: { [Op.ne]: null } },
      raw: true,
    });
    for (const r of rows) out.set(r.key, String(r.recordId));
  }
  return out;
}

export interface CreationResult {
  recordId: string;
  created: boolean;
}

function sourceValue(
  source: ForwardFieldSource,
  row: MessageRow,
  sender: OriginalSender | undefined,
  html: () => Promise<string | null>,
) {
  switch (source) {
    case 'subject':
      return stripReplyPrefixes(row.subject ?? '') || row.subject;
    case 'text':
      return row.text ?? row.snippet;
    case 'html':
      return html();
    case 'snippet':
      return row.snippet;
    case 'fromAddress':
      return sender?.address ?? null;
    case 'fromName':
      return sender?.name ?? sender?.address ?? null;
    case 'date':
      return row.date;
    case 'messageId':
      return row.messageId;
    default:
      return undefined;
  }
}

async function contactFor(db: any, rule: CreateByForwardRule, sender: OriginalSender | undefined, transaction: any) {
  const lookup = rule.contactLookup;
  if (!lookup || !sender?.address || !collectionOf(db, lookup.collection)) return null;
  const repo = db.getRepository(lookup.collection);
  const pk = primaryKeyOf(db.getCollection(lookup.collection));
  const variants = [...new Set([sender.address, sender.address.toLowerCase()])];
  const found = await repo.findOne({ filter: { [lookup.emailField]: { $in: variants } }, fields: [pk], transaction });
  if (found) return found.get(pk);
  if (!lookup.createMissing) return null;
  const values: Record<string, unknown> = { [lookup.emailField]: sender.address };
  if (lookup.nameField && sender.name) values[lookup.nameField] = sender.name;
  const created = await repo.create({ values, transaction });
  return created.get(pk);
}

export async function createRecordFromMail(
  db: any,
  rule: CreateByForwardRule,
  row: MessageRow,
  sender: OriginalSender | undefined,
): Promise<CreationResult | undefined> {
  const collection = collectionOf(db, rule.collection);
  if (!collection) return undefined;
  const key = creationKey(rule.collection, row);
  const Creations = db.getModel('mailLinkCreations');
  const pk = primaryKeyOf(collection);
  const html = async () =>
    (await db.getModel('mailMessages').findByPk(row.id, { attributes: ['html'] }))?.get('html') ?? null;
  try {
    return await db.sequelize.transaction(async (transaction: any) => {
      // First statement of the transaction: a second writer stops here (unique key) before creating anything.
      await Creations.create(
        {
          key,
          collection: rule.collection,
          accountId: row.accountId,
          messageId: row.messageId,
          sender: sender?.address ?? null,
        },
        { transaction },
      );
      const values: Record<string, unknown> = {};
      for (const [field, source] of Object.entries(rule.fieldMap)) {
        if (!collection.hasField(field)) continue;
        values[field] =
          source === 'from'
            ? rule.contactLookup
              ? await contactFor(db, rule, sender, transaction)
              : (sender?.address ?? null)
            : await sourceValue(source, row, sender, html);
      }
      const record = await db.getRepository(rule.collection).create({ values, transaction });
      const recordId = String(record.get(pk));
      await Creations.update({ recordId }, { where: { key }, transaction });
      return { recordId, created: true };
    });
  } catch (err: any) {
    if (err?.name !== 'SequelizeUniqueConstraintError') throw err;
    const existing = await Creations.findOne({ where: { key }, raw: true });
    return existing?.recordId ? { recordId: String(existing.recordId), created: false } : undefined;
  }
}
