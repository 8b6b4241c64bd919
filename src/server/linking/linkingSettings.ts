// `account.settings.linking`: how the mail of one account is filed on business records. Everything is optional;
// an account without it only threads (and still fires the "E-Mail received" trigger).

export type LinkedBy = 'thread' | 'agent-address' | 'subject-token' | 'participant' | 'created' | 'manual' | 'outgoing';

export interface LinkCollectionRule {
  /** Collection name (main data source). */
  name: string;
  /** Field whose value is the record's token; default: the primary key. */
  tokenField?: string;
  /** Token prefix instead of the collection name: agent+<shortName>-<token>@…, [#<shortName>-<token>]. */
  shortName?: string;
  /** Fields holding e-mail addresses, dotted paths through associations allowed ('contact.email'). */
  emailFields?: string[];
  /** Only records matching this NocoBase filter are found by participant matching, e.g. { status: { $ne: 'closed' } }. */
  openFilter?: Record<string, unknown>;
}

export type ForwardFieldSource =
  'subject' | 'text' | 'html' | 'snippet' | 'from' | 'fromAddress' | 'fromName' | 'date' | 'messageId';

export interface CreateByForwardRule {
  collection: string;
  /** record field -> message value. 'from' is the contact record's key when contactLookup is set, else the address. */
  fieldMap: Record<string, ForwardFieldSource>;
  contactLookup?: { collection: string; emailField: string; createMissing?: boolean; nameField?: string };
}

export interface LinkingSettings {
  collections: LinkCollectionRule[];
  agentAddress?: string;
  subjectToken?: { format?: string };
  createByForward?: CreateByForwardRule;
  /** Subject + participants threading fallback within this many days; 0 = off. */
  fuzzyThreadWindowDays: number;
  /** Initial sync and resync create records and fire the trigger too. */
  importHistory: boolean;
  /** More new mails than this from one sender within an hour create nothing and fire nothing. */
  maxPerSenderPerHour: number;
}

export const DEFAULT_SUBJECT_FORMAT = '[#{id}]';
export const DEFAULT_MAX_PER_SENDER_PER_HOUR = 20;

const asString = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

/** Reads the raw JSON leniently: malformed parts are dropped rather than breaking the sync. */
export function readLinkingSettings(settings: any): LinkingSettings {
  const raw = settings?.linking ?? {};
  const collections: LinkCollectionRule[] = (Array.isArray(raw.collections) ? raw.collections : [])
    .filter((c: any) => asString(c?.name))
    .map((c: any) => ({
      name: c.name.trim(),
      tokenField: asString(c.tokenField),
      shortName: asString(c.shortName),
      emailFields: Array.isArray(c.emailFields) ? c.emailFields.filter((f: unknown) => asString(f)) : undefined,
      openFilter: c.openFilter && typeof c.openFilter === 'object' ? c.openFilter : undefined,
    }));
  const agentAddress = asString(raw.agentAddress)?.toLowerCase();
  const format = raw.subjectToken ? (asString(raw.subjectToken.format) ?? DEFAULT_SUBJECT_FORMAT) : undefined;
  const forward = raw.createByForward;
  const createByForward: CreateByForwardRule | undefined =
    forward && asString(forward.collection)
      ? {
          collection: forward.collection.trim(),
          fieldMap: forward.fieldMap && typeof forward.fieldMap === 'object' ? forward.fieldMap : { title: 'subject' },
          contactLookup:
            forward.contactLookup &&
            asString(forward.contactLookup.collection) &&
            asString(forward.contactLookup.emailField)
              ? forward.contactLookup
              : undefined,
        }
      : undefined;
  const max = Number(raw.maxPerSenderPerHour);
  return {
    collections,
    agentAddress: agentAddress && agentAddress.includes('@') ? agentAddress : undefined,
    subjectToken: format && format.includes('{id}') ? { format } : undefined,
    createByForward,
    fuzzyThreadWindowDays: Math.max(0, Number(raw.fuzzyThreadWindowDays) || 0),
    importHistory: raw.importHistory === true,
    maxPerSenderPerHour: Number.isFinite(max) && max > 0 ? max : DEFAULT_MAX_PER_SENDER_PER_HOUR,
  };
}

export function hasLinkRules(s: LinkingSettings): boolean {
  return Boolean(s.collections.length || s.agentAddress || s.createByForward);
}

export function collectionRule(s: LinkingSettings, name: string): LinkCollectionRule | undefined {
  return s.collections.find((c) => c.name === name);
}
