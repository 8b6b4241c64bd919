import net from 'net';
import type { AddressInfo } from 'net';

// A TCP proxy on 127.0.0.1 between a mail client and dovecot that records the IMAP commands the client sends
// (tag + command, no arguments: no credentials are kept), connections and bytes. Used where the product does not
// hand the engine an onImapCommand hook.
export interface ImapProxy {
  host: string;
  port: number;
  commands: string[];
  connections: number;
  bytesUp: number;
  bytesDown: number;
  reset(): void;
  close(): Promise<void>;
}

const TAGGED = /^([A-Za-z0-9.]+) (UID [A-Za-z]+|[A-Za-z]+)/;

export async function startImapProxy(target: { host: string; port: number }): Promise<ImapProxy> {
  const sockets = new Set<net.Socket>();
  const proxy: ImapProxy = {
    host: '127.0.0.1',
    port: 0,
    commands: [],
    connections: 0,
    bytesUp: 0,
    bytesDown: 0,
    reset() {
      proxy.commands = [];
      proxy.connections = 0;
      proxy.bytesUp = 0;
      proxy.bytesDown = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((client) => {
    proxy.connections++;
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    let pending = '';
    // an IMAP literal {n} is skipped byte-exact so its content is never read as a command
    let literalLeft = 0;
    client.on('data', (chunk: Buffer) => {
      proxy.bytesUp += chunk.length;
      upstream.write(chunk);
      let text = chunk.toString('latin1');
      while (text.length) {
        if (literalLeft > 0) {
          const take = Math.min(literalLeft, text.length);
          literalLeft -= take;
          text = text.slice(take);
          continue;
        }
        const nl = text.indexOf('\n');
        if (nl < 0) {
          pending += text;
          break;
        }
        const line = pending + text.slice(0, nl);
        pending = '';
        text = text.slice(nl + 1);
        const literal = /\{(\d+)\+?\}\r?$/.exec(line);
        if (literal) literalLeft = Number(literal[1]);
        const m = TAGGED.exec(line);
        if (m && /^[A-Z]/i.test(m[2]) && m[2].toUpperCase() !== m[2].toLowerCase()) proxy.commands.push(m[2].toUpperCase());
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      proxy.bytesDown += chunk.length;
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as AddressInfo).port;
  return proxy;
}

/** "CAPABILITY ×1, LOGIN ×1, STATUS ×2 …" in the order first seen. */
export function commandSummary(commands: string[]): string {
  const counts = new Map<string, number>();
  for (const c of commands) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].map(([c, n]) => `${c} ×${n}`).join(', ');
}
