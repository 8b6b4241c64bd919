// `settings.linking` as the account form edits it (see src/server/linking/linkingSettings.ts for how the server reads
// it). The form keeps the server's shape; this module only cleans it up on save and formats the live examples.

export const DEFAULT_SUBJECT_FORMAT = '[#{id}]';
export const DEFAULT_MAX_PER_SENDER_PER_HOUR = 20;

/** What a created record's field can be filled with (a subset of the server's ForwardFieldSource). */
export const FORWARD_SOURCES = ['subject', 'fromAddress', 'fromName', 'text'] as const;
export type ForwardSource = (typeof FORWARD_SOURCES)[number];

export interface LinkCollectionValue {
  name?: string;
  tokenField?: string;
  shortName?: string;
  emailFields?: string[];
  openFilter?: Record<string, unknown>;
}

export interface CreateByForwardValue {
  collection?: string;
  /** record field -> message value */
  fieldMap?: Record<string, string>;
  contactLookup?: Record<string, unknown>;
}

export interface LinkingValues {
  collections?: LinkCollectionValue[];
  agentAddress?: string;
  subjectToken?: { format?: string };
  createByForward?: CreateByForwardValue;
  fuzzyThreadWindowDays?: number;
  importHistory?: boolean;
  maxPerSenderPerHour?: number;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

function withoutUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The form's linking values as they are stored: empty parts left out, numbers as numbers. */
export function cleanLinking(v: LinkingValues | undefined): LinkingValues {
  const collections = (v?.collections ?? [])
    .filter((c) => text(c?.name))
    .map((c) =>
      withoutUndefined({
        name: text(c.name),
        tokenField: text(c.tokenField),
        shortName: text(c.shortName),
        emailFields: (c.emailFields ?? []).map((f) => text(f)).filter(Boolean) as string[],
        openFilter: c.openFilter,
      }),
    );
  const forward = v?.createByForward;
  const fieldMap = Object.fromEntries(
    Object.entries(forward?.fieldMap ?? {}).filter(([field, source]) => text(field) && text(source)),
  );
  const max = Number(v?.maxPerSenderPerHour);
  return withoutUndefined({
    collections,
    agentAddress: text(v?.agentAddress),
    subjectToken: v?.subjectToken ? { format: text(v.subjectToken.format) ?? DEFAULT_SUBJECT_FORMAT } : undefined,
    createByForward: text(forward?.collection)
      ? withoutUndefined({ ...forward, collection: text(forward?.collection), fieldMap })
      : undefined,
    fuzzyThreadWindowDays: Math.max(0, Math.floor(Number(v?.fuzzyThreadWindowDays) || 0)),
    importHistory: v?.importHistory === true,
    maxPerSenderPerHour: Number.isFinite(max) && max > 0 ? Math.floor(max) : DEFAULT_MAX_PER_SENDER_PER_HOUR,
  });
}

/** The part of toAccountValues' settings that linking owns: only when the form has linking values. */
export function linkingSettings(formSettings: Record<string, any> | undefined): { linking?: LinkingValues } {
  return formSettings && 'linking' in formSettings ? { linking: cleanLinking(formSettings.linking) } : {};
}

/** Prefix of a collection's tokens, as the server builds it: the short name, else the collection name. */
export function tokenPrefix(c: LinkCollectionValue | undefined): string {
  return text(c?.shortName) ?? text(c?.name) ?? '';
}

/** `agent+cases-17@example.com` for agent@example.com; undefined while the address is incomplete. */
export function plusAddressExample(agentAddress: string | undefined, c: LinkCollectionValue | undefined, id = '17') {
  const address = text(agentAddress);
  const at = address?.lastIndexOf('@') ?? -1;
  if (!address || at <= 0 || at === address.length - 1) return undefined;
  const local = address.slice(0, at).split('+')[0];
  const prefix = tokenPrefix(c) || 'cases';
  return `${local}+${prefix}-${id}@${address.slice(at + 1)}`.toLowerCase();
}

/** The subject token of record 17: [#17], or [#cases-17] once several collections are configured. */
export function subjectExample(format: string | undefined, collections: LinkCollectionValue[] | undefined, id = '17') {
  const f = text(format) ?? DEFAULT_SUBJECT_FORMAT;
  if (!f.includes('{id}')) return undefined;
  const configured = (collections ?? []).filter((c) => text(c?.name));
  const token = configured.length > 1 ? `${tokenPrefix(configured[0])}-${id}` : id;
  return f.replace('{id}', token);
}

/** The form's starting values with the server's linking defaults filled in, so that the inputs show them. */
export function withLinkingDefaults<V extends { settings: Record<string, any> }>(values: V): V {
  const stored: LinkingValues = values.settings?.linking ?? {};
  return {
    ...values,
    settings: {
      ...values.settings,
      linking: {
        ...stored,
        collections: Array.isArray(stored.collections) ? stored.collections : [],
        fuzzyThreadWindowDays: Number(stored.fuzzyThreadWindowDays) || 0,
        importHistory: stored.importHistory === true,
        maxPerSenderPerHour:
          Number(stored.maxPerSenderPerHour) > 0 ? Number(stored.maxPerSenderPerHour) : DEFAULT_MAX_PER_SENDER_PER_HOUR,
      },
    },
  };
}
