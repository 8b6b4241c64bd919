import type { LinkCollectionRule } from './linkingSettings';

// Reading the business records mail is filed on: any collection of the main data source, found by primary key,
// by token field, or by e-mail fields (dotted paths through associations, e.g. 'contact.email').

const MAX_MATCHES = 1000;

export function collectionOf(db: any, name: string): any | undefined {
  return name && db.hasCollection(name) ? db.getCollection(name) : undefined;
}

export function primaryKeyOf(collection: any): string {
  const key = collection.filterTargetKey ?? collection.model?.primaryKeyAttribute;
  return typeof key === 'string' && key ? key : 'id';
}

function tokenFieldOf(collection: any, rule: LinkCollectionRule): string {
  return rule.tokenField && collection.hasField?.(rule.tokenField) ? rule.tokenField : primaryKeyOf(collection);
}

/** The value the record is known by in tokens. */
export async function tokenValueOf(
  db: any,
  rule: LinkCollectionRule,
  recordId: string | number,
): Promise<string | undefined> {
  const collection = collectionOf(db, rule.name);
  if (!collection) return undefined;
  const field = tokenFieldOf(collection, rule);
  if (field === primaryKeyOf(collection)) return String(recordId);
  const record = await db
    .getRepository(rule.name)
    .findOne({ filterByTk: recordId as any, fields: [primaryKeyOf(collection), field] });
  const value = record?.get(field);
  return value === null || value === undefined || value === '' ? undefined : String(value);
}

const NUMERIC_TYPES = new Set(['bigInt', 'integer', 'snowflakeId', 'float', 'double', 'decimal', 'unixTimestamp']);

/** Drops values a numeric key column would refuse (PostgreSQL fails the whole query on 'abc' = bigint). */
function comparable(collection: any, field: string, values: string[]): string[] {
  const type = collection.getField?.(field)?.type ?? (field === 'id' ? 'bigInt' : undefined);
  return NUMERIC_TYPES.has(type) ? values.filter((v) => /^-?\d+(\.\d+)?$/.test(v)) : values;
}

/** Token values -> record ids, one query per collection. */
export async function recordsByToken(
  db: any,
  rule: LinkCollectionRule,
  values: string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const collection = collectionOf(db, rule.name);
  if (!collection || !values.length) return found;
  const field = tokenFieldOf(collection, rule);
  const pk = primaryKeyOf(collection);
  const wanted = comparable(collection, field, [...new Set(values)]);
  if (!wanted.length) return found;
  const rows = await db.getRepository(rule.name).find({
    filter: { [field]: { $in: wanted } },
    fields: [...new Set([pk, field])],
    limit: MAX_MATCHES,
  });
  for (const row of rows) {
    const value = String(row.get(field));
    if (!found.has(value)) found.set(value, String(row.get(pk)));
    if (!found.has(value.toLowerCase())) found.set(value.toLowerCase(), String(row.get(pk)));
  }
  return found;
}

/** All values at a dotted path, through belongsTo/hasOne objects and hasMany/belongsToMany arrays. */
export function valuesAt(value: any, path: string[]): unknown[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((v) => valuesAt(v, path));
  if (!path.length) return [value];
  return valuesAt(value[path[0]], path.slice(1));
}

function appendsOf(fields: string[]): string[] {
  const out = new Set<string>();
  for (const f of fields) {
    const parts = f.split('.');
    for (let i = 1; i < parts.length; i++) out.add(parts.slice(0, i).join('.'));
  }
  return [...out];
}

export interface EmailMatch {
  recordId: string;
  emails: Set<string>;
}

/** Records whose e-mail fields hold one of the addresses (and that pass the open filter, if one is given). */
export async function recordsByEmail(
  db: any,
  rule: LinkCollectionRule,
  addresses: string[],
  useOpenFilter = true,
): Promise<EmailMatch[]> {
  const collection = collectionOf(db, rule.name);
  const fields = rule.emailFields ?? [];
  if (!collection || !fields.length || !addresses.length) return [];
  const variants = [...new Set(addresses.flatMap((a) => [a, a.toLowerCase()]))];
  const byEmail = { $or: fields.map((f) => ({ [f]: { $in: variants } })) };
  const filter = useOpenFilter && rule.openFilter ? { $and: [byEmail, rule.openFilter] } : byEmail;
  const pk = primaryKeyOf(collection);
  const rows = await db.getRepository(rule.name).find({ filter, appends: appendsOf(fields), limit: MAX_MATCHES });
  return rows.map((row: any) => {
    const json = row.toJSON();
    const emails = new Set(
      fields
        .flatMap((f) => valuesAt(json, f.split('.')))
        .filter((v): v is string => typeof v === 'string')
        .map((v) => v.trim().toLowerCase()),
    );
    return { recordId: String(json[pk]), emails };
  });
}

/** The e-mail addresses of one record's e-mail fields. */
export async function emailsOfRecord(db: any, rule: LinkCollectionRule, recordId: string): Promise<Set<string>> {
  const fields = rule.emailFields ?? [];
  if (!fields.length || !collectionOf(db, rule.name)) return new Set();
  const record = await db.getRepository(rule.name).findOne({ filterByTk: recordId as any, appends: appendsOf(fields) });
  if (!record) return new Set();
  const json = record.toJSON();
  return new Set(
    fields
      .flatMap((f) => valuesAt(json, f.split('.')))
      .filter((v): v is string => typeof v === 'string')
      .map((v) => v.trim().toLowerCase()),
  );
}

export async function recordJson(db: any, collection: string, recordId: string): Promise<any | null> {
  const c = collectionOf(db, collection);
  if (!c || !comparable(c, primaryKeyOf(c), [String(recordId)]).length) return null;
  const record = await db.getRepository(collection).findOne({ filterByTk: recordId as any });
  return record ? record.toJSON() : null;
}

export async function recordExists(db: any, collection: string, recordId: string): Promise<boolean> {
  const c = collectionOf(db, collection);
  if (!c || !comparable(c, primaryKeyOf(c), [String(recordId)]).length) return false;
  const pk = primaryKeyOf(c);
  return Boolean(await db.getRepository(collection).findOne({ filterByTk: recordId as any, fields: [pk] }));
}
