// What the compose drawer starts with for a new mail, a reply, a reply to all and a forward.
import type { MailAddress, MailAttachment, MailMessage, UsableAccount } from './types';
import { formatAddress, longDate } from './format';
import { htmlToText } from './sanitizeMailHtml';

export type ComposeMode = 'new' | 'reply' | 'replyAll' | 'forward';

export interface ComposeInitial {
  mode: ComposeMode;
  accountId?: UsableAccount['id'];
  from?: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string;
  inReplyTo?: string;
  references?: string[];
  /** files of stored mail the new one carries (a forward's originals); sent by reference, read from the mailbox */
  attachments?: MailAttachment[];
  /** the message answered or forwarded, for the drawer's title */
  source?: { id: MailMessage['id']; subject?: string | null };
}

export function emptyCompose(accountId?: UsableAccount['id']): ComposeInitial {
  return { mode: 'new', accountId, to: [], cc: [], bcc: [], subject: '', text: '' };
}

const REPLY_PREFIX = /^\s*(re|aw|antw|sv|vs)\s*(\[\d+\])?\s*:/i;
const FORWARD_PREFIX = /^\s*(fwd?|wg|tr)\s*:/i;

export function replySubject(subject: string | null | undefined): string {
  const s = (subject ?? '').trim();
  return REPLY_PREFIX.test(s) ? s : `Re: ${s}`;
}

export function forwardSubject(subject: string | null | undefined): string {
  const s = (subject ?? '').trim();
  return FORWARD_PREFIX.test(s) ? s : `Fwd: ${s}`;
}

export function ownAddresses(account: UsableAccount | undefined): string[] {
  if (!account) return [];
  return [account.address, ...(account.aliases ?? []).map((a) => (typeof a === 'string' ? a : a?.address))]
    .filter(Boolean)
    .map((a) => String(a).toLowerCase());
}

/** The attachments a reader sees as files: not the images an html body shows inline. */
export function fileAttachments(list: MailAttachment[] | null | undefined): MailAttachment[] {
  return (list ?? []).filter((a) => a.disposition !== 'inline' || !a.cid);
}

function bodyText(message: MailMessage): string {
  if (message.text && message.text.trim()) return message.text.replace(/\r\n/g, '\n').trimEnd();
  if (message.html) return htmlToText(message.html);
  return message.snippet ?? '';
}

const unique = (list: string[]) => {
  const seen = new Set<string>();
  return list.filter((a) => {
    const key = a.toLowerCase();
    if (!a || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

const addressesOf = (list: MailAddress[] | null | undefined) => (list ?? []).map((a) => a?.address).filter(Boolean) as string[];

/** The sender the reply goes out as: the address of ours the mail was sent to (an alias), else the account's. */
function replyFrom(message: MailMessage, account: UsableAccount | undefined): string | undefined {
  const own = ownAddresses(account);
  const hit = [...addressesOf(message.to), ...addressesOf(message.cc)].find((a) => own.includes(a.toLowerCase()));
  return hit ?? account?.address;
}

export function buildReply(
  message: MailMessage,
  account: UsableAccount | undefined,
  mode: 'reply' | 'replyAll',
  labels: { wrote: (who: string, when: string) => string },
  language: string,
): ComposeInitial {
  const own = ownAddresses(account);
  const notOwn = (a: string) => !own.includes(a.toLowerCase());
  const outgoing = message.direction === 'out';
  // a reply to a mail we sent goes to its recipients again
  const primary = outgoing
    ? addressesOf(message.to)
    : addressesOf(message.replyTo).length
      ? addressesOf(message.replyTo)
      : addressesOf(message.from ? [message.from] : []);
  let to = unique(primary);
  let cc: string[] = [];
  if (mode === 'replyAll') {
    to = unique([...to, ...(outgoing ? [] : addressesOf(message.to))]).filter(notOwn);
    cc = unique(addressesOf(message.cc)).filter((a) => notOwn(a) && !to.some((t) => t.toLowerCase() === a.toLowerCase()));
    if (!to.length) to = unique(primary);
  }
  const references = unique([...(message.references ?? []), ...(message.messageId ? [message.messageId] : [])]);
  const quoted = bodyText(message)
    .split('\n')
    .map((line) => (line.startsWith('>') ? `>${line}` : `> ${line}`))
    .join('\n');
  const header = labels.wrote(formatAddress(message.from) || '', longDate(message.date, language));
  return {
    mode,
    accountId: message.accountId,
    from: replyFrom(message, account),
    to,
    cc,
    bcc: [],
    subject: replySubject(message.subject),
    text: `\n\n${header}\n${quoted}\n`,
    inReplyTo: message.messageId ?? undefined,
    references: references.length ? references : undefined,
    source: { id: message.id, subject: message.subject },
  };
}

export function buildForward(
  message: MailMessage,
  account: UsableAccount | undefined,
  labels: { forwarded: string; from: string; date: string; subject: string; to: string; cc: string },
  language: string,
): ComposeInitial {
  const lines = [
    `---------- ${labels.forwarded} ----------`,
    `${labels.from}: ${formatAddress(message.from)}`,
    `${labels.date}: ${longDate(message.date, language)}`,
    `${labels.subject}: ${message.subject ?? ''}`,
    `${labels.to}: ${(message.to ?? []).map(formatAddress).join(', ')}`,
  ];
  if (message.cc?.length) lines.push(`${labels.cc}: ${message.cc.map(formatAddress).join(', ')}`);
  return {
    mode: 'forward',
    accountId: message.accountId,
    from: replyFrom(message, account),
    to: [],
    cc: [],
    bcc: [],
    subject: forwardSubject(message.subject),
    text: `\n\n${lines.join('\n')}\n\n${bodyText(message)}\n`,
    attachments: fileAttachments(message.attachments),
    source: { id: message.id, subject: message.subject },
  };
}


