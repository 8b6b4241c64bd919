/**
 * An SMTP transport whose MIME build and sending run in the send worker thread (worker/): building and writing
 * mail is CPU work that otherwise shares the thread that serves requests and keeps the outbox. All such transports
 * of a process share one worker; each keeps its own connection pool there. A mail whose attachments are streams
 * (they cannot cross threads) is sent by a transport on the calling thread.
 */
import { Readable } from 'node:stream';
import { closedError } from '../../errors';
import type { MailTransport, OutgoingMessage, SendOptions, SendResult } from '../../types';
import type { RuntimeOptions } from '../accountConfig';
import { sendWorker as host, wireRuntime } from '../../worker/workerHost';
import { SmtpTransport, type SmtpTransportConfig } from './smtpTransport';

const crossesThreads = (msg: OutgoingMessage) => !msg.attachments?.some((a) => a.content instanceof Readable);

export class SmtpWorkerTransport implements MailTransport {
  private readonly id = host.newId();
  private closed = false;
  private local?: SmtpTransport;

  constructor(
    private readonly config: SmtpTransportConfig,
    readonly runtime: RuntimeOptions = {},
  ) {}

  private open() {
    if (this.closed) throw closedError('transport');
    host.ensureOpen(this.id, this, { op: 'openTransport', ownerId: this.id, config: this.config, runtime: wireRuntime(this.runtime) });
  }

  async send(msg: OutgoingMessage, opts: SendOptions = {}): Promise<SendResult> {
    this.open();
    if (!crossesThreads(msg)) return (this.local ??= new SmtpTransport(this.config, this.runtime)).send(msg, opts);
    const id = host.newId();
    const { signal } = opts;
    const onAbort = () => host.post({ op: 'abort', callId: id });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const sent = host.call<SendResult>({ op: 'send', id, ownerId: this.id, message: msg, abortable: Boolean(signal) });
      if (signal?.aborted) onAbort();
      return await sent;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async verify(): Promise<void> {
    this.open();
    await host.call({ op: 'verify', id: host.newId(), ownerId: this.id });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.local?.close();
    await host.release(this.id);
  }
}
