import net from 'net';

/** What a relay does with one session's bytes. */
export interface RelaySession {
  /** The server's bytes on their way to the client: return what to pass on (null passes nothing). */
  fromServer?(chunk: Buffer): Buffer | null;
  fromClient?(chunk: Buffer): void;
  /** The session ended (either side closed or failed). */
  onEnd?(): void;
}

/**
 * A TCP relay on 127.0.0.1 in front of `port`, for putting faults between our code and a real server: `session`
 * is called for every accepted connection (0, 1, …) and may watch, cut short or hold back its bytes.
 */
export async function startTcpRelay(port: number, session: (index: number) => RelaySession = () => ({})) {
  const sockets = new Set<net.Socket>();
  let sessions = 0;
  const server = net.createServer((client) => {
    const hooks = session(sessions++);
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    upstream.on('data', (chunk: Buffer) => {
      const pass = hooks.fromServer ? hooks.fromServer(chunk) : chunk;
      if (pass?.length) client.write(pass);
    });
    client.on('data', (chunk: Buffer) => {
      hooks.fromClient?.(chunk);
      upstream.write(chunk);
    });
    let open = true;
    const end = () => {
      if (open) hooks.onEnd?.();
      open = false;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** Connections accepted so far. */
    sessions: () => sessions,
    /** Sockets open now (two per live session). */
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Passes the server's bytes until `limit` of them went through, then holds back the rest (sockets stay open).
 * `exact: false` lets the chunk that crosses the limit through whole, so the stall falls between chunks.
 */
export function stallAfter(limit: number, onStall: () => void = () => undefined, { exact = true } = {}): RelaySession {
  let total = 0;
  return {
    fromServer(chunk) {
      if (total >= limit) return null;
      total += chunk.length;
      if (total < limit) return chunk;
      onStall();
      return exact ? chunk.subarray(0, chunk.length - (total - limit)) : chunk;
    },
  };
}

/** Polls `probe` until it returns something truthy; a probe that throws counts as not yet. */
export async function until<T>(
  probe: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  timeoutMs: number,
  what: string,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}
