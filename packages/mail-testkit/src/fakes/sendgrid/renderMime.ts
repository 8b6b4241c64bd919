import MailComposer from 'nodemailer/lib/mail-composer';

/** The parts of an accepted mail/send body the renderer reads (already validated). */
interface Addr {
  email: string;
  name?: string;
}
interface Personalization {
  to: Addr[];
  cc?: Addr[];
  bcc?: Addr[];
  subject?: string;
  headers?: Record<string, string>;
}
export interface AcceptedMailSend {
  personalizations: Personalization[];
  from: Addr;
  reply_to?: Addr;
  reply_to_list?: Addr[];
  subject?: string;
  content?: Array<{ type: string; value: string }>;
  attachments?: Array<{ content: string; filename: string; type?: string; disposition?: string; content_id?: string }>;
  headers?: Record<string, string>;
}

export interface RenderedMessage {
  /** the addresses this copy goes to (to + cc + bcc of the personalization) */
  recipients: string[];
  messageId: string;
  raw: Buffer;
}

const mailbox = (a: Addr) => ({ name: a.name ?? '', address: a.email });

function pick(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  if (key === undefined) return undefined;
  const value = headers[key];
  delete headers[key];
  return value;
}

/**
 * The MIME message SendGrid would deliver for one personalization: From, To, Cc (never Bcc),
 * subject, text/html, attachments and the custom headers. A Message-ID given in `headers` is kept;
 * otherwise one like SendGrid's is made from the X-Message-Id.
 */
export async function renderPersonalization(body: AcceptedMailSend, index: number, xMessageId: string): Promise<RenderedMessage> {
  const p = body.personalizations[index];
  const headers: Record<string, string> = { ...(body.headers ?? {}), ...(p.headers ?? {}) };
  const messageId = pick(headers, 'message-id') ?? `<${xMessageId}.${index}@geopod-ismtpd-fake.sendgrid.net>`;
  const inReplyTo = pick(headers, 'in-reply-to');
  const references = pick(headers, 'references');
  const text = body.content?.find((c) => c.type.toLowerCase() === 'text/plain')?.value;
  const html = body.content?.find((c) => c.type.toLowerCase() === 'text/html')?.value;
  const replyTo = body.reply_to ? [mailbox(body.reply_to)] : body.reply_to_list?.map(mailbox);
  const composer = new MailComposer({
    from: mailbox(body.from),
    to: p.to.map(mailbox),
    cc: p.cc?.map(mailbox),
    replyTo,
    subject: p.subject ?? body.subject,
    text,
    html,
    messageId,
    inReplyTo,
    references,
    headers,
    attachments: (body.attachments ?? []).map((a) => ({
      filename: a.filename,
      content: Buffer.from(a.content, 'base64'),
      contentType: a.type,
      contentDisposition: a.disposition === 'inline' ? 'inline' : 'attachment',
      ...(a.content_id ? { cid: a.content_id } : {}),
    })),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const raw = await composer.compile().build();
  const recipients = [...p.to, ...(p.cc ?? []), ...(p.bcc ?? [])].map((a) => a.email);
  return { recipients, messageId, raw };
}
