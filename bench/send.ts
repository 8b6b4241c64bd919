// Sending: 1,000 mails of 10 KB through our outbox and pooled SMTP transport vs raw pooled nodemailer (same
// maxConnections) to the same SMTP sink (smtp-server, AUTH, no dovecot delivery) in the same run.
//
//   node bench/run.js send      SEND_MAILS=1000  SEND_BYTES=10240  SEND_API_MAILS=1000 (0 = skip the API path)
import nodemailer from 'nodemailer';
import { startSmtpSink } from '@mailbridge/mail-testkit';
import { poolOptions } from '../packages/mail-core/src/providers/smtp/smtpTransport';
import { bootApp } from './support/app';
import { createSmtpAccount } from './support/accounts';
import { cpuClock, envInt, header, median, ms, now, pct, rate, sec, SqlProbe, sqlKey, table, verdict } from './support/metrics';
import { probeTransport } from './support/transportProbe';
import { startSinkProcess, type SinkProcess } from './support/sinkProcess';

const N = envInt('SEND_MAILS', 1000);
// raw and ours take turns this many times; the verdict uses the median of the rounds' ratios (this VM's speed
// drifts by a third within minutes, more than any one pair of runs can tell apart)
const ROUNDS = Math.max(1, envInt('SEND_ROUNDS', 3));
// SEND_ENQUEUE=sequential: each enqueue awaited before the next (how runs 1–12 measured)
const SEQUENTIAL_ENQUEUE = process.env.SEND_ENQUEUE === 'sequential';
const BYTES = envInt('SEND_BYTES', 10 * 1024);
// the API path sends the same mails again, so at most SEND_MAILS of them (asking for more waited for mail never sent)
const API_N = process.env.SEND_API_MAILS === '0' ? 0 : Math.min(envInt('SEND_API_MAILS', N), N);
const WARMUP = 20;
const sender = { user: 'office@example.test', password: 'office-bench-pw' };
const RCPT = 'kunde@example.test';

const WORDS = ['Angebot', 'Rechnung', 'Lieferung', 'Termin', 'bitte', 'danke', 'Vorgang', 'Kunde', 'Auftrag', 'Status'];
function bodyText(i: number): string {
  const lines: string[] = [`Guten Tag, dies ist Nachricht ${i}.`];
  let size = lines[0].length + 1;
  for (let n = 0; size < BYTES; n++) {
    let line = '';
    for (let w = 0; line.length < 70; w++) line += WORDS[(i + n * 3 + w) % WORDS.length] + ' ';
    lines.push(line.trim());
    size += line.length;
  }
  return lines.join('\n').slice(0, BYTES);
}

function classify(sql: string): string {
  const key = sqlKey(sql);
  if (key === 'INSERT mailThreads') return 'sent copy: create thread';
  if (key === 'COUNT mailMessages' || key === 'MAX mailMessages' || key === 'UPDATE mailThreads') return `sent copy: thread stats (${key.split(' ')[0]})`;
  if (key === 'INSERT mailMessages') return 'sent copy: INSERT mailMessages';
  if (key === 'SELECT mailMessages') return /`threadId`/.test(sql) && /`messageId` IN/.test(sql) ? 'sent copy: thread ancestry SELECT' : 'SELECT mailMessages';
  if (key === 'INSERT mailOutbox') return 'enqueue: INSERT mailOutbox';
  if (key === 'UPDATE mailOutbox') return /attempts \+ 1|`attempts`=attempts|attempts\s*\+\s*1/.test(sql) ? 'claim: conditional UPDATE' : 'UPDATE mailOutbox (state sent / failed)';
  if (key === 'SELECT mailOutbox') {
    if (/LIMIT \d+/.test(sql) && /'queued'/.test(sql)) return 'drain: due entries (ids, per chunk)';
    if (/claimToken/.test(sql)) return 'claim: read the claimed chunk';
    if (/'sending'/.test(sql)) return 'drain: interrupted entries';
    return 'SELECT mailOutbox';
  }
  if (key === 'SELECT mailAccounts') return 'account lookup (once per drain)';
  if (key === 'SELECT mailSyncState') return 'Sent folder lookup (once per drain)';
  return key;
}

// SEND_SINK=inprocess: the sink in the bench's own process (how runs 1–10 measured)
async function startSink(): Promise<SinkProcess> {
  if (process.env.SEND_SINK !== 'inprocess') return startSinkProcess([sender]);
  const sink = await startSmtpSink({ users: [sender] });
  return { host: sink.host, port: sink.port, count: async () => sink.received.length, close: () => sink.close() };
}

async function rawNodemailer(sink: SinkProcess, maxConnections: number, mails: Array<{ subject: string; text: string }>) {
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections,
    host: sink.host,
    port: sink.port,
    secure: false,
    ignoreTLS: true,
    auth: { user: sender.user, pass: sender.password },
    logger: false,
  });
  const send = (m: { subject: string; text: string }) => transport.sendMail({ from: { name: 'Office', address: sender.user }, to: RCPT, subject: m.subject, text: m.text });
  await Promise.all(mails.slice(0, WARMUP).map(send)); // each round's pool connects outside the clock
  const before = await sink.count();
  const cpu = cpuClock();
  const t0 = now();
  await Promise.all(mails.map(send));
  const t = now() - t0;
  const cpuMs = cpu();
  transport.close();
  return { n: (await sink.count()) - before, ms: t, cpuMs };
}

async function main() {
  header(`bench send — ${N} mails of ${(BYTES / 1024).toFixed(0)} KB to a local SMTP sink`, [
    `ours: Outbox.enqueue ×N ${SEQUENTIAL_ENQUEUE ? 'one after the other' : 'at once'}, then Outbox.drain() (queued → sending → sent, sent copy stored in its thread)`,
    `${ROUNDS} rounds of raw, then ours; the ratio is the median of the rounds'`,
    'raw:  nodemailer createTransport({ pool: true, maxConnections: same as ours }), sendMail ×N concurrently',
  ]);
  const sink = await startSink();
  const app = await bootApp();
  try {
    const token = await app.signIn();
    const accountId = await createSmtpAccount(app, token, sink, sender, 'Office');
    const model = await app.db.getRepository('mailAccounts').findOne({ filterByTk: accountId });
    const config: any = await app.mail.engine.config(model);
    const maxConnections = poolOptions(config).maxConnections ?? 3;
    const mails = Array.from({ length: N }, (_, i) => ({ subject: `Ihr Vorgang ${i} – Bestätigung`, text: bodyText(i) }));

    const stats = probeTransport(app.mail.engine);
    const outbox = app.mail.outbox;
    const message = (m: { subject: string; text: string }) => ({ from: { name: 'Office', address: sender.user }, to: [{ address: RCPT }], subject: m.subject, text: m.text });
    // warm-up: the pool connects, JIT warms, like the raw run's warm-up
    for (const m of mails.slice(0, WARMUP)) await outbox.enqueue({ accountId, message: message(m), source: 'api' });
    await outbox.drain();

    const probe = new SqlProbe(app.db, classify);
    /** One round of ours: enqueue all (at once, as raw calls sendMail, unless SEND_ENQUEUE=sequential), then drain. */
    const ours = async (round: number) => {
      probe.reset();
      stats.reset();
      const before = await sink.count();
      const cpu = cpuClock();
      const t0 = now();
      // a subject of its own per round: the same one again would join the earlier round's threads
      const enqueue = (m: { subject: string; text: string }) => outbox.enqueue({ accountId, message: message({ ...m, subject: `${m.subject} (${round})` }), source: 'api' });
      if (SEQUENTIAL_ENQUEUE) for (const m of mails) await enqueue(m);
      else await Promise.all(mails.map(enqueue));
      const enqueueMs = now() - t0;
      const enqueueSql = probe.snapshot();
      probe.reset();
      const t1 = now();
      await outbox.drain();
      const drainMs = now() - t1;
      const cpuMs = cpu();
      const drainSql = probe.snapshot();
      const delivered = (await sink.count()) - before;
      return { delivered, enqueueMs, drainMs, ms: enqueueMs + drainMs, cpuMs, enqueueSql, drainSql, sendMs: stats.sendMs, sends: stats.sends, maxInFlight: stats.maxInFlight };
    };
    const rounds: Array<{ raw: Awaited<ReturnType<typeof rawNodemailer>>; ours: Awaited<ReturnType<typeof ours>> }> = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push({ raw: await rawNodemailer(sink, maxConnections, mails), ours: await ours(r + 1) });
    const ratioOf = (round: (typeof rounds)[number]) => round.ours.delivered / round.ours.ms / (round.raw.n / round.raw.ms);
    const ratios = rounds.map(ratioOf);
    const medianRatio = median(ratios);
    // the figures below are of the round whose ratio is the median one
    const mid = rounds[ratios.indexOf([...ratios].sort((a, b) => a - b)[(ratios.length - 1) >> 1])];
    const { raw } = mid;
    const { delivered, enqueueMs, drainMs, ms: oursMs, cpuMs: oursCpu, enqueueSql, drainSql } = mid.ours;
    const rawRate = raw.n / (raw.ms / 1000);
    const sent = await app.db.getModel('mailOutbox').count({ where: { state: 'sent' } });
    const oursRate = delivered / (oursMs / 1000);
    const drainRate = delivered / (drainMs / 1000);

    // ---- the API path: POST mailMessages:send with wait=false, one client, until the sink has them all
    let api: { n: number; postMs: number; allMs: number; p50: number; p95: number } | undefined;
    if (API_N) {
      const apiBefore = await sink.count();
      const times: number[] = [];
      const t2 = now();
      for (const m of mails.slice(0, API_N)) {
        const res = await app.call('POST', 'mailMessages:send', {
          token,
          values: { accountId, to: [RCPT], subject: m.subject, text: m.text, wait: false },
        });
        if (res.status !== 200) throw new Error(`mailMessages:send: ${res.status} ${JSON.stringify(res.body)}`);
        times.push(res.serverMs);
      }
      const postMs = now() - t2;
      await outbox.drain();
      const deadline = Date.now() + 120_000;
      while ((await sink.count()) - apiBefore < API_N && Date.now() < deadline) {
        await outbox.drain();
        await new Promise((r) => setTimeout(r, 50));
      }
      const allMs = now() - t2;
      times.sort((a, b) => a - b);
      api = { n: (await sink.count()) - apiBefore, postMs, allMs, p50: times[times.length >> 1], p95: times[Math.floor(times.length * 0.95)] };
    }

    const enqueueHow = SEQUENTIAL_ENQUEUE ? 'one after the other' : 'all at once';
    table(`${ROUNDS} rounds, raw and ours in turn (the verdict takes the median ratio)`, ['round', 'raw', 'ours', 'ours: enqueue', 'ours: drain', 'ratio'], [
      ...rounds.map((r, i) => [String(i + 1), sec(r.raw.ms), sec(r.ours.ms), sec(r.ours.enqueueMs), sec(r.ours.drainMs), ratios[i].toFixed(2)]),
      ['median', '', '', '', '', medianRatio.toFixed(2)],
    ]);
    table(`sending ${N} mails of ${(BYTES / 1024).toFixed(0)} KB (pool of ${maxConnections} SMTP connections), the median round`, ['path', 'mails', 'wall', 'mails/s', 'cpu', 'vs raw'], [
      ['raw nodemailer pool, sendMail ×N concurrently', raw.n, sec(raw.ms), rate(raw.n, raw.ms), sec(raw.cpuMs), '1.00'],
      [`ours: enqueue ×N ${enqueueHow}, then drain (total)`, delivered, sec(oursMs), rate(delivered, oursMs), sec(oursCpu), (oursRate / rawRate).toFixed(2)],
      ['  enqueue ×N', N, sec(enqueueMs), rate(N, enqueueMs), '', ''],
      ['  drain', delivered, sec(drainMs), rate(delivered, drainMs), '', (drainRate / rawRate).toFixed(2)],
      ...(api
        ? [
            [`ours: POST mailMessages:send wait=false ×${API_N}, until delivered`, api.n, sec(api.allMs), rate(api.n, api.allMs), '', (api.n / (api.allMs / 1000) / rawRate).toFixed(2)],
            [`  the ${API_N} POSTs alone (server p50 ${ms(api.p50)} ms, p95 ${ms(api.p95)} ms)`, API_N, sec(api.postMs), rate(API_N, api.postMs), '', ''],
          ]
        : []),
    ]);
    console.log(`outbox: ${sent} entries sent (incl. ${WARMUP} warm-up${api ? ` and ${api.n} API` : ''}); sink got ${delivered} in the median round's drain`);

    const drainTotals = probe.totals(drainSql);
    // Several mails are in flight at once, so send and SQL times overlap: their shares add up to more than 100%.
    table('where the time of the drain goes (sends overlap; shares are of the wall clock)', ['phase', 'time', 'per mail', 'share'], [
      ['transport.send (MIME build + SMTP round trips), summed over mails in flight', sec(mid.ours.sendMs), `${ms(mid.ours.sendMs / Math.max(1, mid.ours.sends))} ms`, pct(mid.ours.sendMs, drainMs)],
      ['SQL of the drain (incl. waiting for the one SQLite connection)', sec(drainTotals.ms), `${ms(drainTotals.ms / delivered)} ms`, pct(drainTotals.ms, drainMs)],
      ['drain total (wall)', sec(drainMs), `${ms(drainMs / delivered)} ms`, '100%'],
    ]);
    console.log(`sends in flight at once: at most ${mid.ours.maxInFlight} (pool allows ${maxConnections}); raw: ${ms(raw.ms / raw.n)} ms per mail of wall, ours ${ms(drainMs / delivered)} ms`);
    probe.print('SQL per mail: enqueue', N, 'mail', enqueueSql);
    probe.print('SQL per mail: drain (claim, send bookkeeping, sent copy + thread)', delivered, 'mail', drainSql);

    console.log('');
    verdict(
      'send ≥ 0.8 × raw nodemailer (mails/s, enqueue + drain, median of the rounds)',
      medianRatio >= 0.8,
      `rounds ${ratios.map((r) => r.toFixed(2)).join(', ')}: median ${medianRatio.toFixed(2)}; the median round: ours ${oursRate.toFixed(0)} mails/s (drain alone ${drainRate.toFixed(0)}) vs raw ${rawRate.toFixed(0)} mails/s` +
        (api ? `; API path ${(api.n / (api.allMs / 1000)).toFixed(0)} mails/s = ${(api.n / (api.allMs / 1000) / rawRate).toFixed(2)}` : ''),
    );
  } finally {
    await app.destroy();
    await sink.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
