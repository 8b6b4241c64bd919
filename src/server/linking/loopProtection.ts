import { baseAddress } from './tokens';

// Mail that must never create records or start workflows: machine-sent mail (auto-replies, bounces, lists),
// mail from our own mailboxes, and storms from one sender. Linking to existing records still happens.

export type LoopReason =
  'auto-submitted' | 'auto-response-suppress' | 'precedence' | 'list' | 'bounce' | 'own-address' | 'storm';

const BULK_PRECEDENCE = new Set(['bulk', 'junk', 'list', 'auto_reply']);
const BOUNCE_LOCAL = /^(mailer-daemon|postmaster)$/i;

export interface HeaderView {
  autoSubmitted?: string;
  precedence?: string;
  xAutoResponseSuppress?: string;
  listId?: string;
}

export function headerLoopReason(
  headers: HeaderView | null | undefined,
  fromAddress: string | null | undefined,
): LoopReason | undefined {
  const h = headers ?? {};
  if (h.autoSubmitted && h.autoSubmitted.trim().toLowerCase() !== 'no') return 'auto-submitted';
  if (h.xAutoResponseSuppress && h.xAutoResponseSuppress.trim()) return 'auto-response-suppress';
  if (h.precedence && BULK_PRECEDENCE.has(h.precedence.trim().toLowerCase())) return 'precedence';
  if (h.listId && h.listId.trim()) return 'list';
  if (!fromAddress) return 'bounce';
  if (BOUNCE_LOCAL.test(fromAddress.split('@')[0])) return 'bounce';
  return undefined;
}

/** The addresses of every connected account (address and aliases), plus-details removed. */
export class OwnAddresses {
  private cached?: Promise<Set<string>>;

  constructor(private db: any) {
    const reset = () => {
      this.cached = undefined;
    };
    db.on('mailAccounts.afterSave', reset);
    db.on('mailAccounts.afterDestroy', reset);
    db.on('mailAccounts.afterBulkUpdate', reset);
  }

  get(): Promise<Set<string>> {
    this.cached ??= this.load().catch((err) => {
      this.cached = undefined;
      throw err;
    });
    return this.cached;
  }

  private async load() {
    const rows = await this.db.getModel('mailAccounts').findAll({ attributes: ['address', 'aliases'], raw: true });
    const set = new Set<string>();
    for (const row of rows) {
      if (row.address) set.add(baseAddress(row.address));
      let aliases = row.aliases;
      if (typeof aliases === 'string') {
        try {
          aliases = JSON.parse(aliases);
        } catch {
          aliases = [];
        }
      }
      for (const alias of Array.isArray(aliases) ? aliases : []) {
        const address = typeof alias === 'string' ? alias : alias?.address;
        if (address) set.add(baseAddress(address));
      }
    }
    return set;
  }
}
