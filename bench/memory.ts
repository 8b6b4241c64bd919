// Memory while a mailbox with one large attachment is synced and while that attachment is downloaded.
//
// The sync stores attachment metadata only, so it should not hold the attachment; the download action
// (GET /api/mailAttachments:download, src/server/attachments/attachmentActions.ts) streams the IMAP body part to
// the HTTP response, so it should not hold it either. process.memoryUsage() is sampled every MEMORY_SAMPLE_MS
// during each phase and compared with a baseline taken after a full GC; raw imapflow downloading the same part is
// measured in the same run.
//
//   node bench/run.js memory     MEMORY_ATTACHMENT_MB=50  MEMORY_SMALL=5  MEMORY_SAMPLE_MS=50  MEMORY_LIVE_SAMPLE_MS=250  MEMORY_ROUNDS=2  MEMORY_LIMIT_MB=20  MEMORY_NO_LIVE=1
import crypto from 'crypto';
import fs from 'fs';
import v8 from 'v8';
import vm from 'vm';
import { ImapFlow } from 'imapflow';
import { makeMessage, seedMaildir, startDovecot, type Dovecot } from '@mailbridge/mail-testkit';
import { bootApp, type BenchApp } from './support/app';
import { createImapAccount } from './support/accounts';
import { envInt, header, mb, ms, now, sec, table, verdict } from './support/metrics';

const ATTACHMENT_MB = envInt('MEMORY_ATTACHMENT_MB', 50);
const SMALL = envInt('MEMORY_SMALL', 5);
const SAMPLE_MS = envInt('MEMORY_SAMPLE_MS', 50);
/** The live rounds run a full GC before each sample, which takes tens of ms on this heap: sample less often. */
const LIVE_SAMPLE_MS = envInt('MEMORY_LIVE_SAMPLE_MS', 250);
const ROUNDS = envInt('MEMORY_ROUNDS', 2);
const alice = { user: 'alice@example.test', password: 'alice-bench-pw' };
const SIZE = ATTACHMENT_MB * 1024 * 1024;
/**
 * The goal: peak growth of heapUsed + arrayBuffers above the post-GC baseline below half the attachment (25 MB for
 * 50 MB; at least 20 MB): a copy held whole needs ≥ 1 × the attachment (1.37 × as base64). Not 20 MB flat: raw
 * imapflow alone peaks at 20–21 MB here (young-generation garbage between scavenges, the same for 5 MB and 50 MB),
 * so a 20 MB line would judge V8's scavenger, not the product. Plus: live memory (full GC before each sample) < 10 MB.
 */
const LIMIT_BYTES = Number(process.env.MEMORY_LIMIT_MB) > 0 ? Number(process.env.MEMORY_LIMIT_MB) * 1048576 : Math.max(20 * 1048576, SIZE / 2);
const LIVE_LIMIT_BYTES = 10 * 1048576;
const STRICT_BYTES = 20 * 1048576;

if (!process.env.BENCH_KEEP_TMPDIR && fs.existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';

// A full GC before each baseline (bench/run.js does not pass --expose-gc; this turns it on at run time).
v8.setFlagsFromString('--expose-gc');
const gc: () => void = vm.runInNewContext('gc');
async function settle() {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Usage = ReturnType<typeof process.memoryUsage>;

interface Peaks {
  label: string;
  baseline: Usage;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** max over samples of (heapUsed + arrayBuffers) − the same sum at baseline */
  heapPlusBuffers: number;
  samples: number;
  maxGapMs: number;
  ms: number;
  bytes: number;
  note: string;
}

/** Samples process.memoryUsage() every SAMPLE_MS while `work` runs; peaks are relative to a post-GC baseline. */
async function sampled(label: string, work: () => Promise<{ bytes: number; note?: string }>, opts: { gcEachSample?: boolean } = {}): Promise<Peaks> {
  await settle();
  const baseline = process.memoryUsage();
  const base = { rss: baseline.rss, heapUsed: baseline.heapUsed, external: baseline.external, arrayBuffers: baseline.arrayBuffers };
  const peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0, heapPlusBuffers: 0 };
  let samples = 0;
  let maxGap = 0;
  let last = now();
  const sample = () => {
    const t = now();
    maxGap = Math.max(maxGap, t - last);
    last = t;
    // live memory only: a full GC first (slows the phase down; its time is not comparable)
    if (opts.gcEachSample) gc();
    const u = process.memoryUsage();
    samples++;
    peak.rss = Math.max(peak.rss, u.rss - base.rss);
    peak.heapUsed = Math.max(peak.heapUsed, u.heapUsed - base.heapUsed);
    peak.external = Math.max(peak.external, u.external - base.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, u.arrayBuffers - base.arrayBuffers);
    peak.heapPlusBuffers = Math.max(peak.heapPlusBuffers, u.heapUsed + u.arrayBuffers - base.heapUsed - base.arrayBuffers);
  };
  const timer = setInterval(sample, opts.gcEachSample ? LIVE_SAMPLE_MS : SAMPLE_MS);
  const t0 = now();
  let result: { bytes: number; note?: string };
  try {
    result = await work();
  } finally {
    sample();
    clearInterval(timer);
  }
  const elapsed = now() - t0;
  console.log(`  … ${label}: ${sec(elapsed)}, peak heap+arrayBuffers +${mb(peak.heapPlusBuffers)}, rss +${mb(peak.rss)}`);
  return { label, baseline, ...peak, samples, maxGapMs: maxGap, ms: elapsed, bytes: result.bytes, note: result.note ?? '' };
}

/** Reads a stream to its end, keeping nothing but a byte count and a SHA-256. */
async function drain(stream: AsyncIterable<Uint8Array>): Promise<{ bytes: number; sha256: string; firstByteMs: number }> {
  const hash = crypto.createHash('sha256');
  const t0 = now();
  let firstByteMs = NaN;
  let bytes = 0;
  for await (const chunk of stream) {
    if (!bytes) firstByteMs = now() - t0;
    bytes += chunk.length;
    hash.update(chunk);
  }
  return { bytes, sha256: hash.digest('hex'), firstByteMs };
}

async function rawDownload(dovecot: Dovecot, uid: string, part: string) {
  const client = new ImapFlow({
    host: dovecot.host,
    port: dovecot.imapPort,
    secure: false,
    doSTARTTLS: false,
    auth: { user: alice.user, pass: alice.password },
    logger: false,
    disableAutoIdle: true,
  });
  await client.connect();
  const lock = await client.getMailboxLock('INBOX', { readOnly: true });
  try {
    const download = await client.download(uid, part, { uid: true });
    if (!download?.content) throw new Error(`raw: part ${part} of UID ${uid} not found`);
    return await drain(download.content);
  } finally {
    lock.release();
    await client.logout();
  }
}

async function oursDownload(app: BenchApp, token: string, attachmentId: string) {
  const res = await fetch(`${app.url}/api/mailAttachments:download?filterByTk=${encodeURIComponent(attachmentId)}`, {
    headers: { Authorization: `Bearer ${token}`, 'X-Authenticator': 'basic' },
  });
  if (res.status !== 200 || !res.body) throw new Error(`download: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
  const out = await drain(res.body as any);
  return { ...out, contentType: res.headers.get('content-type') ?? '', contentLength: res.headers.get('content-length') };
}

async function main() {
  header(`bench memory — sync and download of a mailbox with one ${ATTACHMENT_MB} MB attachment (plus ${SMALL} small mails)`, [
    `process.memoryUsage() sampled every ${SAMPLE_MS} ms; figures are peaks above a baseline taken after a full GC right before each phase`,
    'ours (a): mail.sync.syncAccount(id) — stores attachment metadata only',
    'ours (b): GET /api/mailAttachments:download through HTTP against the in-process app, response read as a stream and discarded',
    'raw:      imapflow client.download(uid, part, { uid: true }) of the same part, same dovecot, same process, same run',
    'both downloads include connect + login (ours opens its own IMAP connection per download); both are hashed while read',
  ]);

  // ---- the mailbox: a few small mails and one with a large random attachment (base64 in the MIME)
  const t0 = now();
  let content: Buffer | null = crypto.randomBytes(SIZE);
  const sha256 = crypto.createHash('sha256').update(content).digest('hex');
  const mails: Buffer[] = [];
  for (let i = 0; i < SMALL; i++) mails.push(makeMessage(i, { to: alice.user, bodyBytes: 2048 }));
  mails.push(
    makeMessage(SMALL, {
      to: alice.user,
      subject: `Big attachment (${ATTACHMENT_MB} MB)`,
      attachments: [{ filename: `big-${ATTACHMENT_MB}mb.bin`, content, contentType: 'application/octet-stream' }],
    }),
  );
  const mailboxBytes = mails.reduce((a, m) => a + m.length, 0);
  const dovecot = await startDovecot({ users: [alice] });
  await seedMaildir(dovecot, alice.user, 'INBOX', mails);
  console.log(`mailbox: ${mails.length} mails, ${mb(mailboxBytes)} (the large one ${mb(mails[mails.length - 1].length)} as MIME), built and seeded in ${sec(now() - t0)} (${process.env.TMPDIR ?? 'os tmpdir'})`);
  mails.length = 0;
  content = null; // not part of the baselines

  const app = await bootApp();
  try {
    const token = await app.signIn();
    const { accountId } = await createImapAccount(app, token, dovecot, alice, 'Alice');

    // dovecot parses the large mail on first access; warm its index outside the measurement
    {
      const client = new ImapFlow({ host: dovecot.host, port: dovecot.imapPort, secure: false, doSTARTTLS: false, auth: { user: alice.user, pass: alice.password }, logger: false, disableAutoIdle: true });
      await client.connect();
      await client.mailboxOpen('INBOX', { readOnly: true });
      for await (const m of client.fetch('1:*', { uid: true, bodyStructure: true })) void m;
      await client.logout();
    }

    // ---- baseline: the idle app for a second (what sampling alone shows)
    const idle = await sampled('idle app (1 s, nothing running)', async () => {
      await new Promise((r) => setTimeout(r, 1000));
      return { bytes: 0 };
    });

    // ---- (a) the sync
    let syncOutcome: any;
    const sync = await sampled('ours (a): syncAccount', async () => {
      syncOutcome = await app.mail.sync.syncAccount(accountId, { reason: 'bench' });
      if (!syncOutcome.ok) throw new Error(`sync failed: ${JSON.stringify(syncOutcome.error)}`);
      return { bytes: 0, note: JSON.stringify(syncOutcome.folders) };
    });
    const attachment: any = await app.db.getModel('mailAttachments').findOne({ order: [['size', 'DESC']] });
    if (!attachment) throw new Error('the sync stored no attachment row');
    const message: any = await app.db.getModel('mailMessages').findByPk(attachment.get('mailMessageId'));
    const stored = await app.db.getModel('mailMessages').count({ where: { accountId } });
    const uid = String(message.get('providerId'));
    const part = String(attachment.get('partId'));
    const textBytes = (message.get('text')?.length ?? 0) + (message.get('html')?.length ?? 0);
    console.log(
      `synced: ${stored} messages; attachment row id ${attachment.get('id')}: "${attachment.get('filename')}", ${attachment.get('contentType')}, ` +
        `size ${attachment.get('size')} (stored as ${mb(Number(attachment.get('size')))}), part ${part} of UID ${uid}; text+html stored for that mail: ${textBytes} chars`,
    );

    // ---- (b) downloads: raw and ours, alternating
    const downloads: Peaks[] = [];
    const checks: string[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      downloads.push(
        await sampled(`raw imapflow download, round ${r}`, async () => {
          const d = await rawDownload(dovecot, uid, part);
          checks.push(`raw ${r}: ${d.sha256 === sha256 ? 'identical' : 'DIFFERENT'}`);
          return { bytes: d.bytes, note: `first byte ${ms(d.firstByteMs)} ms` };
        }),
      );
      downloads.push(
        await sampled(`ours (b): GET mailAttachments:download, round ${r}`, async () => {
          const d = await oursDownload(app, token, String(attachment.get('id')));
          checks.push(`ours ${r}: ${d.sha256 === sha256 ? 'identical' : 'DIFFERENT'}`);
          return { bytes: d.bytes, note: `first byte ${ms(d.firstByteMs)} ms, ${d.contentType}, Content-Length ${d.contentLength ?? 'none (chunked)'}` };
        }),
      );
    }

    // the same downloads with a full GC before every sample: what is really held (not garbage waiting for a GC)
    const live: Peaks[] = [];
    if (!process.env.MEMORY_NO_LIVE) {
      live.push(
        await sampled('raw, live (GC before each sample)', async () => ({ bytes: (await rawDownload(dovecot, uid, part)).bytes }), { gcEachSample: true }),
        await sampled('ours, live (GC before each sample)', async () => ({ bytes: (await oursDownload(app, token, String(attachment.get('id')))).bytes }), { gcEachSample: true }),
      );
    }

    const all = [idle, sync, ...downloads, ...live];
    table(
      `memory above the post-GC baseline (peaks over ${SAMPLE_MS} ms samples; attachment ${mb(SIZE)})`,
      ['phase', 'rss', 'heapUsed', 'external', 'arrayBuffers', 'heap+arrayBuffers', 'bytes', 'time', 'MB/s', 'samples (max gap)'],
      all.map((p) => [
        p.label,
        mb(p.rss),
        mb(p.heapUsed),
        mb(p.external),
        mb(p.arrayBuffers),
        mb(p.heapPlusBuffers),
        p.bytes ? p.bytes.toLocaleString('en') : '',
        sec(p.ms),
        p.bytes ? ((p.bytes / 1048576) / (p.ms / 1000)).toFixed(1) : '',
        `${p.samples} (${ms(p.maxGapMs)} ms)`,
      ]),
    );
    console.log(`baselines (absolute, after GC): ${all.map((p) => `${p.label.split(',')[0]} rss ${mb(p.baseline.rss)} heap ${mb(p.baseline.heapUsed)} ab ${mb(p.baseline.arrayBuffers)}`).join('; ')}`);
    for (const p of all) if (p.note) console.log(`${p.label}: ${p.note}`);
    console.log(`content: ${checks.join(', ')} (SHA-256 of the ${mb(SIZE)} attachment)`);

    const raws = downloads.filter((p) => p.label.startsWith('raw'));
    const ours = downloads.filter((p) => p.label.startsWith('ours'));
    const worst = (ps: Peaks[], k: 'rss' | 'heapPlusBuffers') => Math.max(...ps.map((p) => p[k]));
    const best = (ps: Peaks[]) => Math.min(...ps.map((p) => p.ms));
    table('summary: raw vs ours (worst peak of the rounds, best time)', ['', 'raw imapflow', 'ours (HTTP action)', 'ours / raw'], [
      ['peak rss above baseline', mb(worst(raws, 'rss')), mb(worst(ours, 'rss')), (worst(ours, 'rss') / Math.max(1, worst(raws, 'rss'))).toFixed(2)],
      ['peak heap+arrayBuffers above baseline', mb(worst(raws, 'heapPlusBuffers')), mb(worst(ours, 'heapPlusBuffers')), (worst(ours, 'heapPlusBuffers') / Math.max(1, worst(raws, 'heapPlusBuffers'))).toFixed(2)],
      ['bytes transferred', raws[0].bytes.toLocaleString('en'), ours[0].bytes.toLocaleString('en'), (ours[0].bytes / raws[0].bytes).toFixed(2)],
      ['time (best round)', sec(best(raws)), sec(best(ours)), (best(ours) / best(raws)).toFixed(2)],
      ...(live.length === 2
        ? [['live heap+arrayBuffers (GC before each sample)', mb(live[0].heapPlusBuffers), mb(live[1].heapPlusBuffers), (live[1].heapPlusBuffers / Math.max(1, live[0].heapPlusBuffers)).toFixed(2)]]
        : []),
      ['sync (a): peak rss / heap+arrayBuffers', '', `${mb(sync.rss)} / ${mb(sync.heapPlusBuffers)}`, ''],
    ]);

    console.log('');
    const bytesOk = ours.every((p) => p.bytes === SIZE) && checks.every((c) => c.endsWith('identical'));
    verdict(
      `memory stays flat while syncing: peak heap+arrayBuffers growth < ${mb(LIMIT_BYTES)} for a ${mb(SIZE)} attachment`,
      sync.heapPlusBuffers < LIMIT_BYTES,
      `syncAccount peak +${mb(sync.heapPlusBuffers)} heap+arrayBuffers (+${mb(sync.rss)} rss) in ${sec(sync.ms)}; ${stored} messages stored`,
    );
    const liveOurs = live.length === 2 ? live[1].heapPlusBuffers : NaN;
    verdict(
      `memory stays flat while downloading (streamed): peak heap+arrayBuffers growth < ${mb(LIMIT_BYTES)} for a ${mb(SIZE)} attachment` +
        `${live.length === 2 ? `, live growth < ${mb(LIVE_LIMIT_BYTES)}` : ''}, all bytes delivered`,
      worst(ours, 'heapPlusBuffers') < LIMIT_BYTES && bytesOk && !(liveOurs >= LIVE_LIMIT_BYTES),
      `ours peak +${mb(worst(ours, 'heapPlusBuffers'))} (raw imapflow +${mb(worst(raws, 'heapPlusBuffers'))}, ratio ${(worst(ours, 'heapPlusBuffers') / Math.max(1, worst(raws, 'heapPlusBuffers'))).toFixed(2)}); ` +
        `rss ours +${mb(worst(ours, 'rss'))} vs raw +${mb(worst(raws, 'rss'))}; ${ours[0].bytes.toLocaleString('en')} of ${SIZE.toLocaleString('en')} bytes, ${bytesOk ? 'content identical' : 'CONTENT OR SIZE WRONG'}; ` +
        `${sec(best(ours))} vs raw ${sec(best(raws))}` +
        (live.length === 2 ? `; live (GC before each sample) ours +${mb(live[1].heapPlusBuffers)} vs raw +${mb(live[0].heapPlusBuffers)}` : ''),
    );
    console.log(
      `stricter line (< ${mb(STRICT_BYTES)} flat): ours ${worst(ours, 'heapPlusBuffers') < STRICT_BYTES ? 'below' : 'above'} it at +${mb(worst(ours, 'heapPlusBuffers'))}, ` +
        `raw imapflow ${worst(raws, 'heapPlusBuffers') < STRICT_BYTES ? 'below' : 'above'} it at +${mb(worst(raws, 'heapPlusBuffers'))} (garbage awaiting a scavenge, see the live rows)`,
    );
  } finally {
    await app.destroy();
    await dovecot.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
