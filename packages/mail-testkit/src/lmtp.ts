import net from 'node:net';

export interface LmtpDeliveryOptions {
  host: string;
  port: number;
  /** envelope sender; '' sends the null reverse-path `<>` */
  from: string;
  recipients: string[];
  raw: Buffer | string;
  timeoutMs?: number;
}

export interface LmtpRecipientResult {
  recipient: string;
  accepted: boolean;
  /** SMTP reply code of RCPT TO (when refused there) or of the per-recipient DATA reply */
  code: number;
  /** the server's reply text, e.g. `5.1.1 <x@y> User doesn't exist: x@y` */
  response: string;
}

interface Reply {
  code: number;
  text: string;
}

/** Encodes a message for the DATA phase: CRLF line ends, dot-stuffing, final `CRLF.CRLF`. */
export function encodeDataPhase(raw: Buffer | string): Buffer {
  let text = (Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8')).toString('latin1');
  text = text.replace(/\r?\n/g, '\r\n').replace(/(^|\r\n)\./g, '$1..');
  if (!text.endsWith('\r\n')) text += '\r\n';
  return Buffer.from(text + '.\r\n', 'latin1');
}

/**
 * Delivers one message over LMTP (RFC 2033): LHLO, MAIL FROM, RCPT TO per recipient, DATA, QUIT.
 * Resolves with one result per recipient; LMTP answers DATA once per accepted recipient.
 * Rejects only when the conversation itself fails (connection refused, timeout, unexpected reply).
 */
export async function deliverViaLmtp(opts: LmtpDeliveryOptions): Promise<LmtpRecipientResult[]> {
  const session = await LmtpSession.open(opts.host, opts.port, opts.timeoutMs ?? 15000);
  try {
    await session.expect(220);
    await session.command('LHLO mailbridge-testkit', 250);
    await session.command(`MAIL FROM:<${opts.from}>`, 250);
    const results: LmtpRecipientResult[] = [];
    for (const recipient of opts.recipients) {
      const reply = await session.send(`RCPT TO:<${recipient}>`);
      results.push({ recipient, accepted: reply.code === 250, code: reply.code, response: reply.text });
    }
    const accepted = results.filter((r) => r.accepted);
    if (accepted.length > 0) {
      await session.command('DATA', 354);
      session.write(encodeDataPhase(opts.raw));
      for (const result of accepted) {
        const reply = await session.read();
        result.accepted = reply.code === 250;
        result.code = reply.code;
        result.response = reply.text;
      }
    }
    await session.send('QUIT').catch(() => undefined);
    return results;
  } finally {
    session.close();
  }
}

class LmtpSession {
  private buffer = '';
  private lines: string[] = [];
  private waiting: ((reply: Reply | Error) => void) | null = null;
  private failure: Error | null = null;
  private timer: NodeJS.Timeout;

  private constructor(private socket: net.Socket, private where: string, timeoutMs: number) {
    this.timer = setTimeout(() => this.fail(new Error(`LMTP ${where}: no reply within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk) => {
      this.buffer += chunk.toString('latin1');
      let end: number;
      while ((end = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, end).replace(/\r$/, ''));
        this.buffer = this.buffer.slice(end + 1);
      }
      this.flush();
    });
    socket.on('error', (err) => this.fail(new Error(`LMTP ${where}: ${err.message}`)));
    socket.on('close', () => this.fail(new Error(`LMTP ${where}: connection closed by server`)));
  }

  static open(host: string, port: number, timeoutMs: number): Promise<LmtpSession> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const onError = (err: Error) => reject(new Error(`LMTP ${host}:${port}: ${err.message}`));
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new LmtpSession(socket, `${host}:${port}`, timeoutMs));
      });
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  send(line: string): Promise<Reply> {
    this.write(line + '\r\n');
    return this.read();
  }

  async command(line: string, expected: number): Promise<Reply> {
    const reply = await this.send(line);
    if (reply.code !== expected) {
      throw new Error(`LMTP ${this.where}: "${line.split(' ')[0]}" answered ${reply.code} ${reply.text}`);
    }
    return reply;
  }

  async expect(expected: number): Promise<Reply> {
    const reply = await this.read();
    if (reply.code !== expected) throw new Error(`LMTP ${this.where}: expected ${expected}, got ${reply.code} ${reply.text}`);
    return reply;
  }

  read(): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.waiting = (r) => (r instanceof Error ? reject(r) : resolve(r));
      this.flush();
    });
  }

  close(): void {
    clearTimeout(this.timer);
    this.socket.removeAllListeners('close');
    this.socket.on('error', () => undefined);
    this.socket.destroy();
  }

  private flush(): void {
    if (!this.waiting) return;
    // a reply is complete at the first line whose 4th character is a space ("250 ok"), "250-" continues it
    const last = this.lines.findIndex((l) => l.length < 4 || l[3] !== '-');
    if (last < 0) {
      if (this.failure) this.deliver(this.failure);
      return;
    }
    const replyLines = this.lines.splice(0, last + 1);
    const code = Number.parseInt(replyLines[last].slice(0, 3), 10);
    this.deliver({ code: Number.isNaN(code) ? 0 : code, text: replyLines.map((l) => l.slice(4)).join('\n') });
  }

  private deliver(reply: Reply | Error): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.(reply);
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.flush();
  }
}
