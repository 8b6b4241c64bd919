/**
 * MailTransport over Microsoft Graph. Sends our own MIME (buildMime) so Message-ID, In-Reply-To
 * and References survive; attachments over 3 MB go through a draft and upload sessions. Graph
 * stores the Sent Items copy itself.
 */
import { Readable } from 'node:stream';
import { MailError } from '../../errors';
import { buildMime } from '../../mime/buildMime';
import { envelopeOf } from '../../mime/composeOptions';
import { assertSafeHeaders } from '../../mime/assertSafeHeaders';
import { ensureMessageId } from '../../mime/messageId';
import type { MailTransport, OutgoingAttachment, OutgoingMessage, SendOptions, SendResult } from '../../types';
import { openGraphAccount, type GraphAccount } from './graphAccount';
import { jsonOf } from './graphClient';
import type { GraphRuntime, Ms365Config } from './graphConfig';
import { graphMessageJson } from './graphMessages';

/** Graph takes attachments up to this size inside the request; larger ones need an upload session. */
export const LARGE_ATTACHMENT_BYTES = 3 * 1024 * 1024;
/** Largest sendMail / create-message request body Graph accepts. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Upload chunk: a multiple of 320 KiB, as upload sessions require. */
export const UPLOAD_CHUNK_BYTES = 10 * 320 * 1024;

interface LoadedAttachment {
  filename: string;
  contentType?: string;
  content: Buffer;
  cid?: string;
}

async function load(att: OutgoingAttachment): Promise<LoadedAttachment> {
  let content: Buffer;
  if (Buffer.isBuffer(att.content)) content = att.content;
  else if (typeof att.content === 'string') content = Buffer.from(att.content, 'utf8');
  else if (att.content instanceof Readable || typeof (att.content as NodeJS.ReadableStream)?.on === 'function') {
    const chunks: Buffer[] = [];
    for await (const chunk of att.content as Readable) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    content = Buffer.concat(chunks);
  } else throw new MailError('PROVIDER_ERROR', `The attachment "${att.filename}" has no content.`, { retryable: false });
  return { filename: att.filename, contentType: att.contentType, content, cid: att.cid };
}

const toOutgoing = (a: LoadedAttachment): OutgoingAttachment => ({ filename: a.filename, contentType: a.contentType, content: a.content, ...(a.cid ? { cid: a.cid } : {}) });

export class GraphTransport implements MailTransport {
  private readonly account: GraphAccount;

  constructor(private readonly config: Ms365Config, runtime: GraphRuntime = {}) {
    this.account = openGraphAccount(config, runtime);
  }

  /** The mailbox that sends: a configured shared mailbox when `from` is one, else the account's. */
  private sendingMailbox(msg: OutgoingMessage): { path: string; mailbox: string; viaShared: boolean } {
    const from = msg.from.address.trim().toLowerCase();
    const shared = (this.config.sharedMailboxes ?? []).find((s) => s.trim().toLowerCase() === from);
    if (shared) return { path: this.account.pathFor(shared), mailbox: shared.trim(), viaShared: this.account.pathFor(shared) !== this.account.basePath };
    return { path: this.account.basePath, mailbox: this.account.mailbox, viaShared: false };
  }

  async send(msg: OutgoingMessage, opts: SendOptions = {}): Promise<SendResult> {
    assertSafeHeaders(msg);
    const messageId = ensureMessageId(msg);
    const target = this.sendingMailbox(msg);
    const attachments = await Promise.all((msg.attachments ?? []).map(load));
    const large = attachments.filter((a) => a.content.length > LARGE_ATTACHMENT_BYTES);
    const small = attachments.filter((a) => a.content.length <= LARGE_ATTACHMENT_BYTES);
    const ctx = { operation: 'send', mailbox: target.mailbox, from: msg.from.address, permission: target.viaShared && this.account.client.delegated ? 'Mail.Send.Shared' : 'Mail.Send' };

    let draftId: string | undefined;
    if ((this.config.sendFormat ?? 'mime') === 'json') {
      const setFrom = !target.viaShared && msg.from.address.trim().toLowerCase() !== this.config.address.trim().toLowerCase();
      let json = graphMessageJson(msg, messageId, small, { setFrom });
      while (Buffer.byteLength(JSON.stringify({ message: json })) > MAX_REQUEST_BYTES && small.length) {
        large.push(...small.splice(small.indexOf(small.reduce((a, b) => (b.content.length > a.content.length ? b : a))), 1));
        json = graphMessageJson(msg, messageId, small, { setFrom });
      }
      if (!large.length) {
        await this.account.client.request({ method: 'POST', url: `${target.path}/sendMail`, json: { message: json, saveToSentItems: true }, idempotent: false, mailbox: target.mailbox, ctx, signal: opts.signal });
      } else {
        draftId = await this.createDraft(target, { json }, ctx, opts.signal);
      }
    } else {
      let built = await buildMime({ ...msg, messageId, attachments: small.map(toOutgoing) }, { keepBcc: true });
      let base64 = built.raw.toString('base64');
      while (base64.length > MAX_REQUEST_BYTES && small.length) {
        // move the biggest remaining attachment to an upload session until the MIME fits
        large.push(...small.splice(small.indexOf(small.reduce((a, b) => (b.content.length > a.content.length ? b : a))), 1));
        built = await buildMime({ ...msg, messageId, attachments: small.map(toOutgoing) }, { keepBcc: true });
        base64 = built.raw.toString('base64');
      }
      if (base64.length > MAX_REQUEST_BYTES) {
        throw new MailError('PROVIDER_ERROR', `The message text is too large for Microsoft 365 (${Math.round(base64.length / 1024)} KB encoded, 4 MB allowed without attachments).`, {
          retryable: false,
          hint: 'Shorten the message text or send the content as an attachment.',
        });
      }
      if (!large.length) {
        await this.account.client.request({ method: 'POST', url: `${target.path}/sendMail`, body: base64, contentType: 'text/plain', idempotent: false, mailbox: target.mailbox, ctx, signal: opts.signal });
      } else {
        draftId = await this.createDraft(target, { mime: base64 }, ctx, opts.signal);
      }
    }

    if (draftId) {
      try {
        for (const att of large) await this.upload(target, draftId, att, ctx, opts.signal);
      } catch (err) {
        await this.account.client.request({ method: 'DELETE', url: `${target.path}/messages/${encodeURIComponent(draftId)}`, mailbox: target.mailbox, ctx: { ...ctx, operation: 'cleanup', notFound: 'message' } }).catch(() => undefined);
        throw err;
      }
      await this.account.client.request({ method: 'POST', url: `${target.path}/messages/${encodeURIComponent(draftId)}/send`, idempotent: false, mailbox: target.mailbox, ctx: { ...ctx, notFound: 'message' }, signal: opts.signal });
    }
    return { providerMessageId: draftId ?? messageId, messageId, accepted: envelopeOf(msg).to, rejected: [] };
  }

  private async createDraft(
    target: { path: string; mailbox: string },
    content: { mime?: string; json?: Record<string, unknown> },
    ctx: { operation: string; mailbox: string; permission: string },
    signal?: AbortSignal,
  ): Promise<string> {
    const res = await this.account.client.request({
      method: 'POST',
      url: `${target.path}/messages`,
      ...(content.mime !== undefined ? { body: content.mime, contentType: 'text/plain' } : { json: content.json }),
      headers: { Prefer: 'IdType="ImmutableId"' },
      idempotent: false,
      mailbox: target.mailbox,
      ctx: { ...ctx, permission: 'Mail.ReadWrite' },
      signal,
    });
    const id = jsonOf<{ id?: string }>(res).id;
    if (!id) throw new MailError('PROVIDER_ERROR', 'Microsoft Graph created the draft without an id.', { retryable: true });
    return id;
  }

  private async upload(target: { path: string; mailbox: string }, draftId: string, att: LoadedAttachment, ctx: { operation: string; mailbox: string }, signal?: AbortSignal): Promise<void> {
    const session = await this.account.client.json<{ uploadUrl?: string }>({
      method: 'POST',
      url: `${target.path}/messages/${encodeURIComponent(draftId)}/attachments/createUploadSession`,
      json: {
        AttachmentItem: {
          attachmentType: 'file',
          name: att.filename,
          size: att.content.length,
          contentType: att.contentType || 'application/octet-stream',
          ...(att.cid ? { isInline: true, contentId: att.cid } : {}),
        },
      },
      idempotent: false,
      mailbox: target.mailbox,
      ctx: { ...ctx, permission: 'Mail.ReadWrite', notFound: 'message' },
      signal,
    });
    if (!session.uploadUrl) throw new MailError('PROVIDER_ERROR', 'Microsoft Graph returned no upload URL.', { retryable: true });
    const total = att.content.length;
    for (let start = 0; start < total; start += UPLOAD_CHUNK_BYTES) {
      const end = Math.min(start + UPLOAD_CHUNK_BYTES, total) - 1;
      await this.account.client.request({
        method: 'PUT',
        url: session.uploadUrl,
        auth: false,
        body: att.content.subarray(start, end + 1),
        contentType: 'application/octet-stream',
        headers: { 'Content-Range': `bytes ${start}-${end}/${total}` },
        idempotent: true,
        mailbox: target.mailbox,
        ctx: { ...ctx, operation: 'upload', notFound: 'message' },
        signal,
      });
    }
  }

  /** Token, then the mailbox: "test connection" for sending. */
  async verify(): Promise<void> {
    await this.account.auth.getToken();
    const granted = this.account.auth.grantedPermissions();
    const canSend = (p: string[]) => p.some((x) => x === 'Mail.Send' || x === 'Mail.Send.Shared');
    if (granted && !canSend(granted)) {
      throw new MailError('AUTH_FAILED', `The access token of ${this.account.mailbox} carries no Mail.Send permission (granted: ${granted.join(', ') || 'none'}).`, {
        retryable: false,
        hint: this.account.client.delegated
          ? 'Grant admin consent for Mail.Send in Entra ID, or reconnect the account and accept Mail.Send when Microsoft asks.'
          : 'Grant admin consent for Mail.Send in Entra ID: App registrations → your app → API permissions → add the Microsoft Graph application permission Mail.Send → "Grant admin consent".',
        context: { protocol: 'graph', operation: 'verify' },
      });
    }
    await verifyMailbox(this.account);
  }

  async close(): Promise<void> {
    // stateless: sockets belong to the shared agent
  }
}

/**
 * The mailbox exists: GET /users/{mailbox} (or /me). An app without User.Read.All cannot read
 * users; then a mail folder proves the mailbox, and a send-only app cannot prove it at all.
 */
export async function verifyMailbox(account: GraphAccount): Promise<{ id?: string; mail?: string; verified: boolean }> {
  const ctx = { operation: 'verify', notFound: 'mailbox' as const };
  try {
    const user = await account.client.json<{ id?: string; mail?: string; userPrincipalName?: string }>({
      method: 'GET',
      url: account.basePath,
      query: { $select: 'id,mail,userPrincipalName,displayName' },
      ctx: { ...ctx, permission: account.client.delegated ? 'User.Read' : 'User.Read.All' },
    });
    return { id: user.id, mail: user.mail ?? user.userPrincipalName, verified: true };
  } catch (err) {
    if (!(err instanceof MailError) || err.code !== 'AUTH_FAILED' || err.responseCode !== 403) throw err;
  }
  const granted = account.auth.grantedPermissions() ?? [];
  if (granted.some((p) => /^Mail\.(Read|ReadWrite|ReadBasic)/.test(p)) || !granted.length) {
    try {
      const inbox = await account.client.json<{ id?: string }>({ method: 'GET', url: `${account.basePath}/mailFolders/inbox`, query: { $select: 'id' }, ctx: { ...ctx, permission: 'Mail.Read' } });
      return { id: inbox.id, verified: true };
    } catch (err) {
      if (!(err instanceof MailError) || err.code !== 'AUTH_FAILED' || !granted.includes('Mail.Send')) throw err;
    }
  }
  return { verified: false };
}
