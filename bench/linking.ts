// Linking 10,000 stored messages to records: thread joining through mailMessageRefs (replies delivered before
// their parents), agent plus-addresses, subject tokens, participant matching, creation by forwarding, loop
// protection. Measured against the sync's own store of the same batches (storeBatch) in the same run, and
// first vs last messages (the cost per message must not grow with the mailbox).
//
//   node bench/run.js linking        LINKING_MESSAGES=10000  LINKING_BATCH=500  LINKING_TRIGGER=1 (+ a sync workflow)
import type { SyncedMessage } from '@mailbridge/mail-core';
import { seededRandom } from '@mailbridge/mail-testkit';
import { storeBatch } from '../src/server/sync/messageStore';
import { bootApp } from './support/app';
import { envInt, header, ms, now, pct, SqlProbe, table, verdict } from './support/metrics';

const N = envInt('LINKING_MESSAGES', 10_000);
const BATCH = envInt('LINKING_BATCH', 500);
const PER_CONVERSATION = 5;
const CONTACTS = 1000;
const AGENT = 'agent@bench.test';

type Kind = 'plus' | 'token' | 'participant' | 'forward' | 'auto-reply';
const KINDS: Kind[] = ['plus', 'token', 'participant', 'forward', 'auto-reply'];

interface Planned {
  message: SyncedMessage;
  conversation: number;
  kind: Kind;
}

/** N messages in conversations of five; each conversation's root says how it should be filed. */
function corpus(caseOf: (c: number) => string): Planned[] {
  const planned: Planned[] = [];
  const conversations = Math.ceil(N / PER_CONVERSATION);
  const base = Date.UTC(2025, 0, 1);
  for (let c = 0; c < conversations; c++) {
    const kind = KINDS[c % KINDS.length];
    const customer = kind === 'forward' ? `stranger${c}@elsewhere.test` : `contact${c % CONTACTS}@kunde.test`;
    const ids: string[] = [];
    for (let k = 0; k < PER_CONVERSATION && planned.length < N; k++) {
      const id = `<bench-${c}-${k}@kunde.test>`;
      const root = k === 0;
      const subject = root
        ? kind === 'token'
          ? `Frage ${c} [#case-${caseOf(c)}]`
          : `Anliegen ${c}`
        : `Re: ${kind === 'token' ? `Frage ${c} [#case-${caseOf(c)}]` : `Anliegen ${c}`}`;
      const to = root && kind === 'plus' ? `agent+case-${caseOf(c)}@bench.test` : AGENT;
      const from = k % 2 === 0 ? customer : `kollege${c % 50}@kunde.test`;
      planned.push({
        conversation: c,
        kind,
        message: {
          providerId: String(planned.length + 1),
          folder: 'INBOX',
          messageId: id,
          inReplyTo: ids[ids.length - 1],
          references: [...ids],
          from: { address: from },
          to: [{ address: to }],
          cc: [],
          bcc: [],
          replyTo: [],
          subject,
          date: new Date(base + (c * PER_CONVERSATION + k) * 60_000),
          flags: [],
          size: 4000,
          text: `Nachricht ${k} in Gespräch ${c}.`,
          snippet: `Nachricht ${k} in Gespräch ${c}.`,
          hasAttachments: false,
          attachments: [],
          headers: kind === 'auto-reply' && root ? { autoSubmitted: 'auto-replied' } : {},
        } as SyncedMessage,
      });
      ids.push(id);
    }
  }
  // Delivery order: roughly chronological, but a message may arrive up to ~1,000 places (two batches) early or
  // late, so many replies come before their parents, often in an earlier batch.
  const r = seededRandom(42);
  const keyed = planned.map((p, i) => ({ p, key: i + (r() - 0.5) * 2000 }));
  keyed.sort((a, b) => a.key - b.key);
  return keyed.map((k, i) => ({ ...k.p, message: { ...k.p.message, providerId: String(i + 1) } }));
}

async function main() {
  const plugins = process.env.LINKING_TRIGGER ? ['workflow'] : [];
  const b = await bootApp({ plugins });
  const { db } = b;
  try {
    db.collection({
      name: 'contacts',
      fields: [
        { name: 'name', type: 'string' },
        { name: 'email', type: 'string' },
      ],
      indexes: [{ fields: ['email'] }],
    });
    db.collection({
      name: 'cases',
      fields: [
        { name: 'title', type: 'string' },
        { name: 'description', type: 'text' },
        { name: 'status', type: 'string' },
        { name: 'contact', type: 'belongsTo', target: 'contacts', foreignKey: 'contactId' },
      ],
      indexes: [{ fields: ['contactId'] }],
    });
    await db.sync();
    await db
      .getModel('contacts')
      .bulkCreate(
        Array.from({ length: CONTACTS }, (_, i) => ({ name: `Kontakt ${i}`, email: `contact${i}@kunde.test` })),
      );
    const contactIds = (
      await db.getModel('contacts').findAll({ attributes: ['id'], order: [['id', 'ASC']], raw: true })
    ).map((r: any) => r.id);
    // one open and one closed case per contact
    await db.getModel('cases').bulkCreate(
      contactIds.flatMap((id: any, i: number) => [
        { title: `Offen ${i}`, status: 'open', contactId: id },
        { title: `Erledigt ${i}`, status: 'closed', contactId: id },
      ]),
    );
    const caseIds = (
      await db
        .getModel('cases')
        .findAll({ attributes: ['id'], where: { status: 'open' }, order: [['id', 'ASC']], raw: true })
    ).map((r: any) => String(r.id));
    const caseOf = (c: number) => caseIds[c % CONTACTS];

    const account = await db.getModel('mailAccounts').create({
      title: 'Agent',
      provider: 'smtp-imap',
      address: AGENT,
      settings: {
        linking: {
          collections: [
            {
              name: 'cases',
              shortName: 'case',
              emailFields: ['contact.email'],
              openFilter: { status: { $ne: 'closed' } },
            },
            { name: 'contacts', emailFields: ['email'] },
          ],
          agentAddress: AGENT,
          subjectToken: { format: '[#{id}]' },
          createByForward: {
            collection: 'cases',
            fieldMap: { title: 'subject', description: 'text', contact: 'from' },
            contactLookup: { collection: 'contacts', emailField: 'email' },
          },
          maxPerSenderPerHour: 1_000_000,
        },
      },
    });
    const accountId = String(account.get('id'));
    if (process.env.LINKING_TRIGGER) {
      await db.getRepository('workflows').create({
        values: {
          title: 'bench',
          enabled: true,
          type: 'mailbridgeReceived',
          sync: true,
          config: { subjectContains: 'Anliegen 1' },
        },
      });
    }

    const planned = corpus(caseOf);
    const probe = new SqlProbe(db);
    let storeMs = 0;
    let linkMs = 0;
    const perBatch: Array<{ from: number; n: number; store: number; link: number }> = [];
    let linkSql = new Map<string, { n: number; ms: number }>();
    header(
      `bench linking: ${planned.length} messages in batches of ${BATCH}, ${Math.ceil(planned.length / PER_CONVERSATION)} conversations`,
      [
        `records: ${CONTACTS} contacts, ${2 * CONTACTS} cases; kinds of conversation: ${KINDS.join(', ')}; SQLite in memory`,
        `trigger: ${process.env.LINKING_TRIGGER ? 'one synchronous "E-Mail received" workflow' : 'none (LINKING_TRIGGER=1 adds one)'}`,
      ],
    );
    for (let from = 0; from < planned.length; from += BATCH) {
      const added = planned.slice(from, from + BATCH).map((p) => p.message);
      const cursor = {
        v: 1 as const,
        uidValidity: 1,
        uidNext: from + added.length + 1,
        uids: `1:${from + added.length}`,
      };
      let t0 = now();
      const stored = await storeBatch(db, accountId, 'INBOX', { added, changed: [], deleted: [], cursor });
      const store = now() - t0;
      probe.reset();
      t0 = now();
      await b.mail.events.messagesStored({
        accountId,
        folder: 'INBOX',
        messageIds: stored.addedIds,
        direction: 'in',
        initial: false,
      });
      const link = now() - t0;
      for (const [k, v] of probe.snapshot()) {
        const s = linkSql.get(k) ?? { n: 0, ms: 0 };
        linkSql.set(k, { n: s.n + v.n, ms: s.ms + v.ms });
      }
      storeMs += store;
      linkMs += link;
      perBatch.push({ from, n: added.length, store, link });
    }

    // What came out
    const Messages = db.getModel('mailMessages');
    const rows = await Messages.findAll({ attributes: ['messageId', 'threadId'], where: { accountId }, raw: true });
    const threadOf = new Map<string, string>(rows.map((r: any) => [r.messageId, String(r.threadId)]));
    const byConversation = new Map<number, Set<string>>();
    for (const p of planned) {
      if (!byConversation.has(p.conversation)) byConversation.set(p.conversation, new Set());
      byConversation.get(p.conversation)!.add(threadOf.get(p.message.messageId!)!);
    }
    const joined = [...byConversation.values()].filter((s) => s.size === 1).length;
    const links = await db
      .getModel('mailLinks')
      .findAll({ attributes: ['threadId', 'collection', 'linkedBy'], raw: true });
    const byKind = new Map<string, number>();
    for (const l of links)
      byKind.set(`${l.collection}/${l.linkedBy}`, (byKind.get(`${l.collection}/${l.linkedBy}`) ?? 0) + 1);
    const created = await db.getModel('mailLinkCreations').count();
    const expectCreated = [...byConversation.keys()].filter((c) => KINDS[c % KINDS.length] === 'forward').length;
    const threads = new Set(threadOf.values()).size;

    const n = planned.length;
    table(
      'per batch (ms per message)',
      ['messages', 'store (sync)', 'linking', 'linking / store'],
      perBatch
        .filter(
          (_, i) => i === 0 || i === perBatch.length - 1 || i % Math.max(1, Math.floor(perBatch.length / 6)) === 0,
        )
        .map((p) => [
          `${p.from + 1}–${p.from + p.n}`,
          ms(p.store / p.n),
          ms(p.link / p.n),
          (p.link / p.store).toFixed(2),
        ]),
    );
    const firstFifth = perBatch.slice(0, Math.max(1, Math.floor(perBatch.length / 5)));
    const lastFifth = perBatch.slice(-Math.max(1, Math.floor(perBatch.length / 5)));
    const perMsg = (list: typeof perBatch) => list.reduce((s, p) => s + p.link, 0) / list.reduce((s, p) => s + p.n, 0);
    table(
      'totals',
      ['what', 'value'],
      [
        ['linking, ms per message', ms(linkMs / n)],
        ['store (storeBatch), ms per message', ms(storeMs / n)],
        ['linking / store', (linkMs / storeMs).toFixed(2)],
        ['linking, first fifth → last fifth (ms/msg)', `${ms(perMsg(firstFifth))} → ${ms(perMsg(lastFifth))}`],
        ['conversations in one thread', `${joined} / ${byConversation.size} (${pct(joined, byConversation.size)})`],
        ['threads', threads],
        ['records created by forwarding', `${created} (expected ${expectCreated})`],
        ...[...byKind.entries()].sort().map(([k, v]) => [`links ${k}`, v] as [string, number]),
      ],
    );
    probe.print('SQL of linking', n, 'message', linkSql);
    verdict(
      'linking cost per message',
      linkMs / n < 5,
      `${ms(linkMs / n)} ms per message (goal < 5 ms on SQLite), ${(linkMs / storeMs).toFixed(2)}× the store`,
    );
    verdict(
      'constant cost per message',
      perMsg(lastFifth) < 2 * perMsg(firstFifth),
      `first fifth ${ms(perMsg(firstFifth))} ms, last fifth ${ms(perMsg(lastFifth))} ms per message`,
    );
    verdict('out-of-order conversations joined', joined === byConversation.size, `${joined} of ${byConversation.size}`);
    verdict('one record per forward', created === expectCreated, `${created} created, ${expectCreated} expected`);
  } finally {
    await b.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
