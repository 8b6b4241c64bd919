import net from 'node:net';
import tls from 'node:tls';

/** One IMAP response line; literals ({n}) are cut out into `literals` and marked as `{literal}` in `text`. */
export interface WireLine {
  text: string;
  literals: Buffer[];
}

export interface TaggedResult {
  status: 'OK' | 'NO' | 'BAD';
  text: string;
  untagged: WireLine[];
}

/** A deliberately tiny IMAP client for tests: raw tagged commands, one at a time, literals handled byte-exact. */
export class ImapWire {
  greeting = '';
  private buffer = Buffer.alloc(0);
  private current: WireLine = { text: '', literals: [] };
  private literalBytes = -1;
  private untagged: WireLine[] = [];
  private pending: { tag: string; resolve: (r: TaggedResult) => void; reject: (e: Error) => void } | null = null;
  private watchers: Array<{ test: (l: WireLine) => boolean; resolve: (l: WireLine) => void }> = [];
  private greeted: Promise<string>;
  private tagCounter = 0;
  private closed: Error | null = null;

  private constructor(private socket: net.Socket) {
    this.greeted = new Promise((resolve, reject) => {
      this.watchers.push({ test: () => true, resolve: (l) => resolve((this.greeting = l.text)) });
      socket.once('error', reject);
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('IMAP connection closed')));
  }

  static async connect(
    port: number,
    opts: { host?: string; tls?: tls.ConnectionOptions; greetingTimeoutMs?: number } = {},
  ): Promise<ImapWire> {
    const host = opts.host ?? '127.0.0.1';
    const socket = opts.tls ? tls.connect({ host, port, ...opts.tls }) : net.connect({ host, port });
    const wire = new ImapWire(socket);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no IMAP greeting on port ${port}`)), opts.greetingTimeoutMs ?? 5000);
    });
    try {
      await Promise.race([wire.greeted, timeout]);
    } catch (err) {
      wire.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return wire;
  }

  /** Sends `<tag> <command>`; `literal` is sent as a synchronizing-free LITERAL+ `{n+}` appended to the command. */
  command(command: string, literal?: Buffer): Promise<TaggedResult> {
    if (this.closed) return Promise.reject(this.closed);
    const tag = `t${++this.tagCounter}`;
    this.untagged = [];
    const done = new Promise<TaggedResult>((resolve, reject) => (this.pending = { tag, resolve, reject }));
    if (literal) {
      this.socket.write(`${tag} ${command} {${literal.length}+}\r\n`);
      this.socket.write(literal);
      this.socket.write('\r\n');
    } else {
      this.socket.write(`${tag} ${command}\r\n`);
    }
    return done;
  }

  /** Writes a raw line (e.g. DONE to end IDLE). */
  writeLine(line: string): void {
    this.socket.write(line + '\r\n');
  }

  /** Resolves with the next line (tagged, untagged or continuation) that matches. */
  waitForLine(pattern: RegExp, timeoutMs = 5000): Promise<WireLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
      this.watchers.push({
        test: (l) => pattern.test(l.text),
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  close(): void {
    this.socket.removeAllListeners('close');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.literalBytes >= 0) {
        if (this.buffer.length < this.literalBytes) return;
        this.current.literals.push(this.buffer.subarray(0, this.literalBytes));
        this.current.text += '{literal}';
        this.buffer = this.buffer.subarray(this.literalBytes);
        this.literalBytes = -1;
      }
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) return;
      const part = this.buffer.subarray(0, end).toString('utf8');
      this.buffer = this.buffer.subarray(end + 2);
      const literal = /\{(\d+)\}$/.exec(part);
      if (literal) {
        this.current.text += part.slice(0, literal.index);
        this.literalBytes = Number(literal[1]);
        continue;
      }
      this.current.text += part;
      const line = this.current;
      this.current = { text: '', literals: [] };
      this.onLine(line);
    }
  }

  private onLine(line: WireLine): void {
    const watcher = this.watchers.find((w) => w.test(line));
    if (watcher) {
      this.watchers.splice(this.watchers.indexOf(watcher), 1);
      watcher.resolve(line);
    }
    const pending = this.pending;
    if (pending && line.text.startsWith(pending.tag + ' ')) {
      this.pending = null;
      const rest = line.text.slice(pending.tag.length + 1);
      const status = rest.split(' ')[0] as TaggedResult['status'];
      pending.resolve({ status, text: rest, untagged: this.untagged });
    } else if (line.text.startsWith('* ')) {
      this.untagged.push(line);
    }
  }

  private fail(err: Error): void {
    this.closed = err;
    this.pending?.reject(err);
    this.pending = null;
  }
}

/** LOGIN with quoted strings. */
export function login(wire: ImapWire, user: string, password: string): Promise<TaggedResult> {
  const q = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  return wire.command(`LOGIN ${q(user)} ${q(password)}`);
}

/** STATUS <mailbox> (<items>) parsed into numbers. */
export async function status(wire: ImapWire, mailbox: string, items = 'MESSAGES UNSEEN UIDNEXT'): Promise<Record<string, number>> {
  const r = await wire.command(`STATUS "${mailbox}" (${items})`);
  if (r.status !== 'OK') throw new Error(`STATUS ${mailbox}: ${r.text}`);
  const line = r.untagged.find((l) => l.text.startsWith('* STATUS'));
  const values: Record<string, number> = {};
  const inner = /\(([^)]*)\)\s*$/.exec(line?.text ?? '')?.[1] ?? '';
  const parts = inner.split(/\s+/);
  for (let i = 0; i + 1 < parts.length; i += 2) values[parts[i]] = Number(parts[i + 1]);
  return values;
}
