import { useEffect, useState } from 'react';
import { useAPIClient } from '@nocobase/client';
import type { APIClient } from '@nocobase/client';

// The app's collections and their fields, for the linking rules editor.
const quiet = { skipNotify: true } as const;

export interface CollectionInfo {
  name: string;
  title?: string;
}

export interface FieldInfo {
  name: string;
  type?: string;
  interface?: string;
  primaryKey?: boolean;
  title?: string;
  /** The choices of a select, radio or checkbox-group field (uiSchema.enum). */
  options?: Array<{ value: string | number | boolean; label: string }>;
}

/** NocoBase stores built-in titles as compiled strings, e.g. {{t("Users")}}. */
export function plainTitle(title: string | undefined, t: (key: string) => string): string | undefined {
  if (!title) return undefined;
  const m = /^\{\{\s*t\(\s*["'](.+?)["']/.exec(title);
  return m ? t(m[1]) : title;
}

export async function listCollectionInfos(api: APIClient): Promise<CollectionInfo[]> {
  const res = await api.request<CollectionInfo[]>({
    url: 'collections:list',
    method: 'get',
    params: { paginate: false, fields: ['name', 'title', 'hidden'], sort: ['sort'] },
    ...quiet,
  });
  return (res.data.data ?? []).filter((c: any) => !c.hidden && !String(c.name).startsWith('mail'));
}

export async function listFieldInfos(api: APIClient, collection: string): Promise<FieldInfo[]> {
  const res = await api.request<any[]>({
    url: `collections/${encodeURIComponent(collection)}/fields:list`,
    method: 'get',
    params: { paginate: false, sort: ['sort'] },
    ...quiet,
  });
  return (res.data.data ?? []).map((f: any) => ({
    name: String(f.name),
    type: f.type,
    interface: f.interface,
    primaryKey: Boolean(f.primaryKey),
    title: f.uiSchema?.title,
    options: Array.isArray(f.uiSchema?.enum)
      ? f.uiSchema.enum
          .filter((o: any) => o && ['string', 'number', 'boolean'].includes(typeof o.value))
          .map((o: any) => ({ value: o.value, label: String(o.label ?? o.value) }))
      : undefined,
  }));
}

/** Field types that can hold a record token or an e-mail address (no relations, no JSON, no files). */
const SCALAR = new Set([
  'string',
  'text',
  'integer',
  'bigInt',
  'snowflakeId',
  'uid',
  'uuid',
  'nanoid',
  'sequence',
  'email',
  'float',
  'double',
  'decimal',
]);

export function isScalarField(f: FieldInfo): boolean {
  return SCALAR.has(String(f.type)) || f.interface === 'email';
}

/** Fields a condition of the "only records where" filter can test: scalars, booleans and choices. */
export function isFilterField(f: FieldInfo): boolean {
  return isScalarField(f) || f.type === 'boolean' || Boolean(f.options?.length);
}

export function isTextField(f: FieldInfo): boolean {
  return (
    ['string', 'text'].includes(String(f.type)) ||
    ['email', 'input', 'textarea', 'markdown', 'richText'].includes(String(f.interface))
  );
}

// Asked for once per form: every collection picker shares the answer (forgotten after a few seconds).
const collectionCache = new WeakMap<APIClient, Promise<CollectionInfo[]>>();

function cachedCollections(api: APIClient): Promise<CollectionInfo[]> {
  let found = collectionCache.get(api);
  if (!found) {
    found = listCollectionInfos(api);
    found.then(
      () => setTimeout(() => collectionCache.delete(api), 5000),
      () => collectionCache.delete(api),
    );
    collectionCache.set(api, found);
  }
  return found;
}

export function useCollectionInfos(): { collections: CollectionInfo[]; loading: boolean; error?: string } {
  const api = useAPIClient();
  const [state, setState] = useState<{ collections: CollectionInfo[]; loading: boolean; error?: string }>({
    collections: [],
    loading: true,
  });
  useEffect(() => {
    let alive = true;
    cachedCollections(api).then(
      (collections) => alive && setState({ collections, loading: false }),
      (e) => alive && setState({ collections: [], loading: false, error: String(e?.message ?? e) }),
    );
    return () => {
      alive = false;
    };
  }, [api]);
  return state;
}

// Fields are asked for once per collection and shared by the pickers of one form; forgotten after a few seconds
// so that fields added meanwhile show up the next time.
const fieldCache = new WeakMap<APIClient, Map<string, Promise<FieldInfo[]>>>();

function cachedFields(api: APIClient, collection: string): Promise<FieldInfo[]> {
  let byName = fieldCache.get(api);
  if (!byName) fieldCache.set(api, (byName = new Map()));
  let found = byName.get(collection);
  if (!found) {
    found = listFieldInfos(api, collection);
    found.then(
      () => setTimeout(() => byName!.delete(collection), 5000),
      () => byName!.delete(collection),
    );
    byName.set(collection, found);
  }
  return found;
}

export function useFieldInfos(collection: string | undefined): { fields: FieldInfo[]; loading: boolean } {
  const api = useAPIClient();
  const [state, setState] = useState<{ fields: FieldInfo[]; loading: boolean }>({ fields: [], loading: false });
  useEffect(() => {
    if (!collection) {
      setState({ fields: [], loading: false });
      return;
    }
    let alive = true;
    setState((s) => ({ fields: s.fields, loading: true }));
    cachedFields(api, collection).then(
      (fields) => alive && setState({ fields, loading: false }),
      () => alive && setState({ fields: [], loading: false }),
    );
    return () => {
      alive = false;
    };
  }, [api, collection]);
  return state;
}
