import { chownSync, closeSync, futimesSync, fchownSync, mkdirSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Dovecot } from './dovecot';
import { instancePaths, mailHome } from './dovecotConfig';

export interface SeedOptions {
  /** store the messages with the \Seen flag (default: unseen) */
  seen?: boolean;
}

// unique, increasing Maildir base names: dovecot gives new files their UIDs in file-name order, so UIDs follow
// the order of `messages` (seconds part fixed per call, the "M" part counts up, zero-padded to sort both ways)
let sequence = 0;

/**
 * Writes messages straight into a user's Maildir (tmp/ then rename into cur/, as the Maildir rules want), far faster
 * than APPEND or LMTP; dovecot sees them at its next sync (any SELECT/STATUS). Runs while dovecot runs or not.
 * `folder` is 'INBOX' or an IMAP name with '/' as hierarchy separator ('Sent', 'Projekte/2024', 'Entwürfe');
 * a folder that does not exist yet is created (but not subscribed). INTERNALDATE is taken from the Date: header.
 */
export async function seedMaildir(
  dovecot: Dovecot,
  user: string,
  folder: string,
  messages: Array<Buffer | string>,
  opts: SeedOptions = {},
): Promise<void> {
  const mailRoot = instancePaths(dovecot.dir).mailRoot;
  const owner = statSync(mailRoot);
  const chownTo = process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : null;
  const maildir = path.join(mailHome(dovecot.dir, user), 'Maildir');
  const folderDir = folder.toUpperCase() === 'INBOX' ? maildir : path.join(maildir, maildirFolderName(folder));

  ensureDir(mailRoot, path.join(maildir, 'cur'), chownTo);
  for (const sub of ['new', 'tmp']) ensureDir(mailRoot, path.join(maildir, sub), chownTo);
  if (folderDir !== maildir) {
    for (const sub of ['cur', 'new', 'tmp']) ensureDir(mailRoot, path.join(folderDir, sub), chownTo);
    const marker = path.join(folderDir, 'maildirfolder');
    writeFileSync(marker, '', { flag: 'a', mode: 0o600 });
    if (chownTo) chownSync(marker, chownTo.uid, chownTo.gid);
  }

  const seconds = Math.floor(Date.now() / 1000);
  const flags = opts.seen ? 'S' : '';
  const batch = 500;
  for (let start = 0; start < messages.length; start += batch) {
    for (const message of messages.slice(start, start + batch)) {
      const raw = Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8');
      const n = sequence++;
      const base = `${seconds + Math.floor(n / 1e6)}.M${String(n % 1e6).padStart(6, '0')}P${process.pid}.mailbridge`;
      const tmpFile = path.join(folderDir, 'tmp', base);
      const fd = openSync(tmpFile, 'wx', 0o600);
      try {
        for (let off = 0; off < raw.length; ) off += writeSync(fd, raw, off, raw.length - off);
        if (chownTo) fchownSync(fd, chownTo.uid, chownTo.gid);
        const date = headerDate(raw);
        if (date) futimesSync(fd, date, date);
      } finally {
        closeSync(fd);
      }
      // S= is the file size, W= the size with CRLF line ends (what IMAP reports as RFC822.SIZE)
      renameSync(tmpFile, path.join(folderDir, 'cur', `${base},S=${raw.length},W=${crlfSize(raw)}:2,${flags}`));
    }
    if (start + batch < messages.length) await new Promise((resolve) => setImmediate(resolve));
  }
}

/** IMAP name -> Maildir++ directory name: '.' + components joined by '.', non-ASCII in modified UTF-7 (RFC 3501 5.1.3). */
export function maildirFolderName(folder: string): string {
  const parts = folder.split('/');
  if (parts.some((p) => p === '' || p.includes('.') || /[\x00-\x1f\x7f]/.test(p))) {
    throw new Error(`cannot seed folder "${folder}": use '/' as separator, no empty parts, no '.' and no control characters`);
  }
  return '.' + parts.map(toModifiedUtf7).join('.');
}

function toModifiedUtf7(name: string): string {
  let out = '';
  let pending = '';
  const flush = () => {
    if (!pending) return;
    const utf16be = Buffer.from(pending, 'utf16le').swap16();
    out += '&' + utf16be.toString('base64').replace(/=+$/, '').replace(/\//g, ',') + '-';
    pending = '';
  };
  for (const ch of name) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x20 && code <= 0x7e) {
      flush();
      out += ch === '&' ? '&-' : ch;
    } else {
      pending += ch;
    }
  }
  flush();
  return out;
}

/** mkdir -p below `root`, giving every directory it creates to the mail user. */
function ensureDir(root: string, dir: string, chownTo: { uid: number; gid: number } | null): void {
  const missing: string[] = [];
  for (let d = dir; d.startsWith(root) && d !== root; d = path.dirname(d)) {
    try {
      statSync(d);
      break;
    } catch {
      missing.unshift(d);
    }
  }
  for (const d of missing) {
    mkdirSync(d, { mode: 0o700 });
    if (chownTo) chownSync(d, chownTo.uid, chownTo.gid);
  }
}

function crlfSize(raw: Buffer): number {
  let bareLf = 0;
  for (let i = raw.indexOf(10); i >= 0; i = raw.indexOf(10, i + 1)) if (i === 0 || raw[i - 1] !== 13) bareLf++;
  return raw.length + bareLf;
}

function headerDate(raw: Buffer): Date | null {
  const head = raw.subarray(0, 16 * 1024).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const headers = (end >= 0 ? head.slice(0, end) : head).replace(/\r?\n[ \t]+/g, ' ');
  const value = /^date:[ \t]*(.+)$/im.exec(headers)?.[1];
  if (!value) return null;
  const time = Date.parse(value.replace(/\s*\([^)]*\)\s*$/, ''));
  return Number.isNaN(time) ? null : new Date(time);
}
