import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, existsSync, openSync, readFileSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, mkdtemp, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { greetingOf, instancePaths, renderDovecotConfig, renderOAuth2Config, type DovecotIdentity } from './dovecotConfig';
import { deliverViaLmtp } from './lmtp';
import { normalizeMailUser, passwdFileText, type MailUser } from './mailUser';
import { freePorts, portIsFree, readGreeting } from './ports';
import { makeSelfSignedCert } from './tlsCert';

export interface DovecotOptions {
  users?: MailUser[];
  /** instance directory; default: a fresh mkdtemp under os.tmpdir(). A given dir is reused (data survives) and never removed. */
  dir?: string;
  imapPort?: number;
  /** turns on dovecot's quota plugin with this storage limit; going over it gives `NO [OVERQUOTA]` / LMTP 552 */
  quotaBytes?: number;
  /** also listen with implicit TLS on `imapsPort` (throwaway self-signed cert; the plain port then offers STARTTLS too) */
  tls?: boolean;
  imapsPort?: number;
  lmtpPort?: number;
  /** how long start() waits for the IMAP greeting; default 30 s */
  startTimeoutMs?: number;
  /**
   * Also accept XOAUTH2 / OAUTHBEARER logins: dovecot's oauth2 passdb checks each bearer token at this RFC 7662
   * introspection URL (e.g. the Microsoft fake's `introspectionUrl` with `introspectionHttp: true`). Password
   * logins keep working.
   */
  oauth2?: { introspectionUrl: string };
}

export interface Dovecot {
  /** '127.0.0.1' */
  host: string;
  /** plain IMAP, AUTH=PLAIN/LOGIN allowed without TLS */
  imapPort: number;
  /** implicit TLS (only with `tls: true`) */
  imapsPort?: number;
  /** PEM of the self-signed certificate (only with `tls: true`), to trust it in a client: `tls: { ca: tlsCertPem }` */
  tlsCertPem?: string;
  /** LMTP on TCP 127.0.0.1, for delivery */
  lmtpPort: number;
  /** instance directory: dovecot.conf, passwd, mail/<domain>/<user>/Maildir, dovecot.log */
  dir: string;
  users: MailUser[];
  addUser(u: MailUser): Promise<void>;
  /** delivers through LMTP like an MTA would; rejects with LmtpDeliveryError when dovecot refuses */
  deliver(rcpt: string, raw: Buffer | string): Promise<void>;
  /** graceful: SIGTERM, wait until dovecot and its children are gone; removes nothing */
  stop(): Promise<void>;
  /** SIGKILL the master and all its children (for fault tests) */
  kill(): Promise<void>;
  /** (re)start on the same ports and data after stop/kill; resolves once IMAP greets */
  start(): Promise<void>;
  /** stop and remove the instance directory; with a caller-given `dir` only stop() (the data stays) */
  destroy(): Promise<void>;
  /** the last lines of dovecot.log, for assertion messages */
  logTail(lines?: number): string;
}

export class LmtpDeliveryError extends Error {
  constructor(readonly recipient: string, readonly code: number, readonly response: string) {
    super(`dovecot refused the delivery to ${recipient}: ${code} ${response}`);
    this.name = 'LmtpDeliveryError';
  }
}

export const DOVECOT_INSTALL_HINT =
  'dovecot is not installed: install it with `apt-get install dovecot-imapd dovecot-lmtpd` ' +
  '(or point DOVECOT_BIN to the dovecot binary)';

/** Path of the dovecot binary (DOVECOT_BIN, /usr/sbin, /usr/local/sbin, PATH), or null when not installed. */
export function dovecotBinary(): string | null {
  const candidates = [
    process.env.DOVECOT_BIN,
    '/usr/sbin/dovecot',
    '/usr/local/sbin/dovecot',
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'dovecot')),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return null;
}

export async function startDovecot(opts: DovecotOptions = {}): Promise<Dovecot> {
  const binary = dovecotBinary();
  if (!binary) throw new Error(DOVECOT_INSTALL_HINT);

  const ownsDir = !opts.dir;
  const dir = opts.dir ? path.resolve(opts.dir) : await mkdtemp(path.join(os.tmpdir(), 'mbdc-'));
  const paths = instancePaths(dir);
  const identity = resolveIdentity();
  // dovecot's unprivileged processes (auth reads passwd, imap runs as the mail uid) must reach into the directory
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  for (const sub of [paths.baseDir, paths.stateDir, paths.mailRoot]) await mkdir(sub, { recursive: true });
  await chown(paths.mailRoot, identity.mailUid, identity.mailGid);
  await chmod(paths.mailRoot, 0o755);

  const users = (opts.users ?? []).map(normalizeMailUser);
  await writeFile(paths.passwd, passwdFileText(users), { mode: 0o644 });
  if (opts.oauth2) await writeFile(paths.oauth2, renderOAuth2Config(opts.oauth2), { mode: 0o644 });

  let tls: { certPath: string; keyPath: string; dhPath?: string; certPem: string } | undefined;
  if (opts.tls) {
    await mkdir(paths.tlsDir, { recursive: true });
    const cert = existsSync(path.join(paths.tlsDir, 'cert.pem'))
      ? {
          certPath: path.join(paths.tlsDir, 'cert.pem'),
          keyPath: path.join(paths.tlsDir, 'key.pem'),
          certPem: await readFile(path.join(paths.tlsDir, 'cert.pem'), 'utf8'),
        }
      : await makeSelfSignedCert(paths.tlsDir);
    // Debian ships DH parameters; without them only clients that insist on classic (non-EC) DHE would fail
    const dhPath = ['/usr/share/dovecot/dh.pem', '/etc/dovecot/dh.pem'].find((p) => existsSync(p));
    tls = { ...cert, dhPath };
  }

  // freshly picked ports can be taken by someone else before dovecot binds them: then pick new ones
  const portsGiven = opts.imapPort !== undefined || opts.lmtpPort !== undefined || opts.imapsPort !== undefined;
  for (let attempt = 1; ; attempt++) {
    const [freeImap, freeLmtp, freeImaps] = await freePorts(3);
    const imapPort = opts.imapPort ?? freeImap;
    const lmtpPort = opts.lmtpPort ?? freeLmtp;
    const imapsPort = tls ? opts.imapsPort ?? freeImaps : undefined;
    const config = renderDovecotConfig({
      dir,
      instanceName: instanceNameOf(dir),
      imapPort,
      lmtpPort,
      imapsPort,
      tls,
      identity,
      quotaBytes: opts.quotaBytes,
      oauth2: opts.oauth2,
    });
    await writeFile(paths.config, config, { mode: 0o644 });
    const server = new DovecotServer(binary, dir, ownsDir, users, imapPort, lmtpPort, imapsPort, tls?.certPem, opts.startTimeoutMs ?? 30000);
    try {
      await server.start();
      return server;
    } catch (err) {
      const addressInUse = /Address already in use/i.test(String((err as Error).message));
      if (!addressInUse || portsGiven || attempt >= 3) {
        if (ownsDir) await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

/** shows in `ps` as dovecot-<name>/imap etc. */
function instanceNameOf(dir: string): string {
  return `mailbridge-${path.basename(dir).replace(/[^A-Za-z0-9._-]/g, '-')}`;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function readIdTable(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(':'));
  } catch {
    return [];
  }
}

function lookupUser(name: string): PasswdEntry | null {
  const row = readIdTable('/etc/passwd').find((r) => r[0] === name);
  return row ? { name, uid: Number(row[2]), gid: Number(row[3]) } : null;
}

function groupName(gid: number): string | null {
  const row = readIdTable('/etc/group').find((r) => Number(r[2]) === gid);
  return row ? row[0] : null;
}

/**
 * Dovecot never runs mail processes as root (uid 0 is below first_valid_uid and refused), so:
 * - as root: mail processes run as the system user `mail` (uid 8 on Debian; `nobody` if missing), dovecot's own
 *   processes as its packaged users `dovecot` / `dovenull` — what the Debian package sets up;
 * - as any other user: everything runs as that user (no chroot, no setuid), which dovecot supports for ports > 1024.
 */
export function resolveIdentity(): DovecotIdentity {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) {
    const me = os.userInfo();
    const group = groupName(me.gid) ?? me.username;
    return { mailUid: me.uid, mailGid: me.gid, internalUser: me.username, internalGroup: group, loginUser: me.username, rootless: true };
  }
  const mail = lookupUser('mail') ?? lookupUser('nobody') ?? { name: 'nobody', uid: 65534, gid: 65534 };
  const internal = lookupUser('dovecot') ?? mail;
  const login = lookupUser('dovenull') ?? lookupUser('nobody') ?? internal;
  return {
    mailUid: mail.uid,
    mailGid: mail.gid,
    internalUser: internal.name,
    internalGroup: groupName(internal.gid) ?? internal.name,
    loginUser: login.name,
    rootless: false,
  };
}

// dovecots still running when the test process ends are killed, so no orphan outlives a crashed test file
const running = new Set<DovecotServer>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const server of running) server.killSync();
  });
}

// passwd-file mtimes after addUser: 2001-09-09 plus a counter, never equal to an earlier one
const PASSWD_MTIME_BASE = 1_000_000_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class DovecotServer implements Dovecot {
  readonly host = '127.0.0.1';
  private child: ChildProcess | null = null;
  private passwdRevision = 0;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly binary: string,
    readonly dir: string,
    private readonly ownsDir: boolean,
    readonly users: MailUser[],
    readonly imapPort: number,
    readonly lmtpPort: number,
    readonly imapsPort: number | undefined,
    readonly tlsCertPem: string | undefined,
    private readonly startTimeoutMs: number,
  ) {}

  async start(): Promise<void> {
    if (this.child) return;
    const paths = instancePaths(this.dir);
    const out = openSync(paths.stderrLog, 'a');
    let child: ChildProcess;
    try {
      // detached: the master leads its own process group, so kill() can reach every child with one signal
      child = spawn(this.binary, ['-F', '-c', paths.config], { detached: true, stdio: ['ignore', out, out] });
    } finally {
      closeSync(out);
    }
    child.unref();
    this.child = child;
    running.add(this);
    installExitHook();
    let exitInfo: string | null = null;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
        resolve();
      });
      child.once('error', (err) => {
        exitInfo = `could not be started: ${err.message}`;
        resolve();
      });
    });

    const deadline = Date.now() + this.startTimeoutMs;
    const exited = new AbortController();
    void this.exited.then(() => exited.abort());
    let lastError = '';
    while (exitInfo === null) {
      try {
        // once connected, wait as long as the deadline allows: imap-login greets only when auth is ready, which on a
        // loaded machine took longer than a short probe waits (each new probe started the wait again)
        const greeting = await readGreeting(this.host, this.imapPort, Math.max(500, deadline - Date.now()), exited.signal);
        if (greeting.startsWith('* OK') && greeting.includes(greetingOf(instanceNameOf(this.dir)))) return;
        lastError = `unexpected greeting "${greeting}"`;
      } catch (err) {
        lastError = (err as Error).message;
      }
      if (Date.now() > deadline) break;
      await sleep(10);
    }
    const reason = exitInfo ?? `did not greet on 127.0.0.1:${this.imapPort} within ${this.startTimeoutMs} ms (${lastError})`;
    child.ref();
    this.killSync();
    await this.exited;
    this.forget();
    throw new Error(`dovecot ${reason} (${this.binary} -F -c ${paths.config}).\n--- end of the dovecot log ---\n${this.logTail(40)}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.ref(); // keep the event loop alive until the exit event arrives
    child.kill('SIGTERM');
    const stopped = await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)]);
    if (!stopped) this.killSync();
    await this.exited;
    await this.waitForPortsReleased();
    this.forget();
  }

  async kill(): Promise<void> {
    if (!this.child) return;
    this.child.ref();
    this.killSync();
    await this.exited;
    await this.waitForPortsReleased();
    this.forget();
  }

  async destroy(): Promise<void> {
    if (!this.ownsDir) return this.stop();
    // the data is deleted anyway, so skip the ~1 s dovecot's graceful shutdown takes (its log process lingers)
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * Adds a user or changes a password, effective without a restart. Dovecot's auth process re-reads passwd-file
   * when its mtime or size changed, but looks at most once per second: so every change gets its own mtime, and
   * addUser resolves only when the clock has reached the next second (waits 0.5 s on average).
   */
  async addUser(u: MailUser): Promise<void> {
    const user = normalizeMailUser(u);
    const passwd = instancePaths(this.dir).passwd;
    const existing = this.users.findIndex((x) => x.user === user.user);
    if (existing >= 0) {
      this.users[existing] = user;
      // rewrite atomically so dovecot's auth process never reads half a file
      await writeFile(passwd + '.tmp', passwdFileText(this.users), { mode: 0o644 });
      await rename(passwd + '.tmp', passwd);
    } else {
      this.users.push(user);
      await appendFile(passwd, passwdFileText([user]));
    }
    const uniqueMtime = PASSWD_MTIME_BASE + ++this.passwdRevision;
    await utimes(passwd, uniqueMtime, uniqueMtime);
    await sleep(1000 - (Date.now() % 1000) + 20);
  }

  async deliver(rcpt: string, raw: Buffer | string): Promise<void> {
    const [result] = await deliverViaLmtp({
      host: this.host,
      port: this.lmtpPort,
      from: envelopeSenderOf(raw),
      recipients: [rcpt],
      raw,
    });
    if (!result.accepted) throw new LmtpDeliveryError(rcpt, result.code, result.response);
  }

  logTail(lines = 30): string {
    const paths = instancePaths(this.dir);
    const tail = (file: string) => {
      try {
        return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    };
    return [tail(paths.log), tail(paths.stderrLog)].filter(Boolean).join('\n') || '(the log is empty)';
  }

  /** SIGKILL to the whole process group: the master and every process it forked. */
  killSync(): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  private forget(): void {
    this.child = null;
    running.delete(this);
  }

  /** after the master is gone, its children can hold the listening sockets a little longer */
  private async waitForPortsReleased(): Promise<void> {
    const pid = this.child?.pid;
    const ports = [this.imapPort, this.lmtpPort, ...(this.imapsPort ? [this.imapsPort] : [])];
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const free = await Promise.all(ports.map(portIsFree));
      if (free.every(Boolean)) return;
      if (pid) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // group is gone
        }
      }
      await sleep(20);
    }
  }
}

/** The address of the From: header, used as LMTP envelope sender; '' (null sender) when there is none. */
function envelopeSenderOf(raw: Buffer | string): string {
  const text = (Buffer.isBuffer(raw) ? raw.subarray(0, 64 * 1024).toString('latin1') : raw.slice(0, 64 * 1024));
  const headerEnd = text.search(/\r?\n\r?\n/);
  const headers = (headerEnd >= 0 ? text.slice(0, headerEnd) : text).replace(/\r?\n[ \t]+/g, ' ');
  const from = /^from:(.*)$/im.exec(headers)?.[1] ?? '';
  const address = /<([^<>\s]+@[^<>\s]+)>/.exec(from)?.[1] ?? /([^\s<>,;"]+@[^\s<>,;"]+)/.exec(from)?.[1];
  return address ?? '';
}
