import type { Address, OutgoingMessage } from '../../types';

export type RecipientRole = 'to' | 'cc' | 'bcc';

export interface EnvelopeRecipient {
  address: string;
  role: RecipientRole;
}

/** Every To, Cc and Bcc address once (compared case-insensitively), in that order; the first role wins. */
export function envelopeRecipients(msg: Pick<OutgoingMessage, 'to' | 'cc' | 'bcc'>): EnvelopeRecipient[] {
  const seen = new Set<string>();
  const out: EnvelopeRecipient[] = [];
  const add = (list: Address[] | undefined, role: RecipientRole) => {
    for (const a of list ?? []) {
      const address = a.address.trim();
      const key = address.toLowerCase();
      if (!address || seen.has(key)) continue;
      seen.add(key);
      out.push({ address, role });
    }
  };
  add(msg.to, 'to');
  add(msg.cc, 'cc');
  add(msg.bcc, 'bcc');
  return out;
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** SES's Destination for one SendEmail call: the envelope only, the MIME headers stay as built. */
export function sesDestination(recipients: EnvelopeRecipient[]): { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] } {
  const of = (role: RecipientRole) => recipients.filter((r) => r.role === role).map((r) => r.address);
  const [to, cc, bcc] = [of('to'), of('cc'), of('bcc')];
  return {
    ...(to.length ? { ToAddresses: to } : {}),
    ...(cc.length ? { CcAddresses: cc } : {}),
    ...(bcc.length ? { BccAddresses: bcc } : {}),
  };
}
