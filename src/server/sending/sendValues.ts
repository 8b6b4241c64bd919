import type { Address } from '@mailbridge/mail-core';
import type { StoredOutgoingMessage } from './outgoingMessage';

// Turns the values of a send request (UI, API) into an outgoing message of an account: the sender is the
// account's address or one of its aliases, recipients may be strings or {name, address} objects.
export function parseAddresses(input: unknown): Address[] {
  if (input === undefined || input === null || input === '') return [];
  const list = Array.isArray(input) ? input : String(input).split(/[,;]/);
  return list
    .map((item: any) => (typeof item === 'string' ? { address: item.trim() } : { name: item?.name, address: String(item?.address ?? '').trim() }))
    .filter((a) => a.address);
}

export function parseSendValues(account: { address: string; title?: string; aliases?: any[] }, values: any): StoredOutgoingMessage {
  const allowedFrom = [account.address, ...(account.aliases ?? []).map((a: any) => (typeof a === 'string' ? a : a?.address))]
    .filter(Boolean)
    .map((a: string) => a.toLowerCase());
  const fromAddress = String(values.from?.address ?? values.from ?? account.address).trim();
  if (!allowedFrom.includes(fromAddress.toLowerCase())) {
    throw new Error(`"${fromAddress}" is neither the account's address nor one of its aliases.`);
  }
  const to = parseAddresses(values.to);
  const cc = parseAddresses(values.cc);
  const bcc = parseAddresses(values.bcc);
  if (!to.length && !cc.length && !bcc.length) throw new Error('Add at least one recipient.');
  if (!values.text && !values.html && !values.subject) throw new Error('The mail has neither subject nor text.');
  return {
    from: { name: values.fromName ?? values.from?.name ?? account.title, address: fromAddress },
    sender: fromAddress.toLowerCase() !== account.address.toLowerCase() ? { address: account.address } : undefined,
    to,
    cc,
    bcc,
    replyTo: parseAddresses(values.replyTo),
    subject: String(values.subject ?? ''),
    text: values.text,
    html: values.html,
    inReplyTo: values.inReplyTo,
    references: Array.isArray(values.references) ? values.references : values.references ? [values.references] : undefined,
    headers: values.headers,
    attachments: (values.attachments ?? []).map((a: any) => ({
      filename: String(a.filename),
      contentType: a.contentType,
      cid: a.cid,
      contentBase64: String(a.contentBase64 ?? a.content ?? ''),
    })),
  };
}
