// A stored message as linking reads it (one query per stored batch).
import { textOfUtf8 } from '../db/bulkWrite';
export interface Participant {
  name?: string;
  address: string;
}

export interface MessageRow {
  id: string;
  accountId: string;
  folder: string;
  providerId: string;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  threadId: string;
  direction: 'in' | 'out';
  from: Participant | null;
  fromAddress: string | null;
  to: Participant[];
  cc: Participant[];
  bcc: Participant[];
  replyTo: Participant[];
  subject: string;
  date: Date;
  snippet: string;
  text: string | null;
  hasAttachments: boolean;
  headers: Record<string, any>;
}

const LINKING_FIELDS = [
  'id',
  'accountId',
  'folder',
  'providerId',
  'messageId',
  'inReplyTo',
  'references',
  'threadId',
  'direction',
  'from',
  'fromAddress',
  'to',
  'cc',
  'bcc',
  'replyTo',
  'subject',
  'date',
  'snippet',
  'text',
  'hasAttachments',
  'headers',
];

const list = (v: unknown): any[] => {
  if (typeof v === 'string') {
    try {
      return list(JSON.parse(v));
    } catch {
      return [];
    }
  }
  return Array.isArray(v) ? v : [];
};

const object = (v: unknown): any => {
  if (typeof v === 'string') {
    try {
      return JSON.parse(v);
    } catch {
      return null;
    }
  }
  return v && typeof v === 'object' ? v : null;
};

export function toMessageRow(model: any): MessageRow {
  const g = (k: string) => model.get(k);
  return {
    id: String(g('id')),
    accountId: String(g('accountId')),
    folder: g('folder'),
    providerId: g('providerId'),
    messageId: g('messageId') ?? null,
    inReplyTo: g('inReplyTo') ?? null,
    references: list(g('references')).filter((x) => typeof x === 'string'),
    threadId: String(g('threadId')),
    direction: g('direction') === 'out' ? 'out' : 'in',
    from: object(g('from')),
    fromAddress: g('fromAddress') ? String(g('fromAddress')).toLowerCase() : null,
    to: list(g('to')),
    cc: list(g('cc')),
    bcc: list(g('bcc')),
    replyTo: list(g('replyTo')),
    subject: g('subject') ?? '',
    date: g('date') ? new Date(g('date')) : new Date(),
    snippet: g('snippet') ?? '',
    text: g('text') ?? null,
    hasAttachments: Boolean(g('hasAttachments')),
    headers: object(g('headers')) ?? {},
  };
}

/** The row as linking reads it, from the values just inserted (no read back). */
export function messageRowFromValues(id: string, values: Record<string, unknown>): MessageRow {
  const row = toMessageRow({ get: (key: string) => (key === 'id' ? id : values[key]) });
  const text = values.text;
  if (text instanceof Uint8Array) {
    // stored as UTF-8 bytes (from the sync worker): decoded only if linking reads it
    let decoded: string | undefined;
    Object.defineProperty(row, 'text', {
      enumerable: true,
      get: () => (decoded ??= textOfUtf8(text)),
    });
  }
  return row;
}

export async function loadMessageRows(db: any, ids: string[]): Promise<MessageRow[]> {
  const rows: MessageRow[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const found = await db.getModel('mailMessages').findAll({
      attributes: LINKING_FIELDS,
      where: { id: ids.slice(i, i + 500) },
      order: [['id', 'ASC']],
    });
    rows.push(...found.filter((m: any) => m.get('threadId') != null).map(toMessageRow));
  }
  return rows;
}

export function addressesOf(list: Array<Participant | null | undefined>): string[] {
  return list.map((p) => p?.address?.trim().toLowerCase()).filter((a): a is string => Boolean(a));
}

/** Bigint-safe comparison of database ids. */
export function compareIds(a: string, b: string): number {
  try {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}
