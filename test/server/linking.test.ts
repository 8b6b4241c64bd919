import { seedMaildir } from '@mailbridge/mail-testkit';
import { createTestApp, TestApp } from '../support/nocobase';
import { startMailPeers, MailPeers } from '../support/mailPeers';
import { waitFor } from '../support/workflow';

// Issue #7 end to end: dovecot + SMTP sink + NocoBase on SQLite. One agent mailbox (agent@example.test) that is
// also the agent address; cases and contacts as business records.
const agent = { user: 'agent@example.test', password: 'agent-pw-5d1' };
const kunde = { user: 'kunde@example.test', password: 'kunde-pw-93e' };

const CRLF = '\r\n';
let seq = 0;

interface RawMail {
  from: string;
  to: string;
  subject: string;
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  headers?: string[];
  text?: string;
  date?: Date;
}

function raw(m: RawMail): { raw: string; messageId: string } {
  const messageId = m.messageId ?? `<linking-${process.pid}-${++seq}@test.example>`;
  const headers = [
    `From: ${m.from}`,
    `To: ${m.to}`,
    `Subject: ${m.subject}`,
    `Date: ${(m.date ?? new Date()).toUTCString().replace(/GMT$/, '+0000')}`,
    `Message-ID: ${messageId}`,
    ...(m.inReplyTo ? [`In-Reply-To: ${m.inReplyTo}`] : []),
    ...(m.references?.length || m.inReplyTo ? [`References: ${(m.references ?? [m.inReplyTo!]).join(' ')}`] : []),
    ...(m.headers ?? []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  return {
    raw: headers.join(CRLF) + CRLF + CRLF + (m.text ?? `Text of ${m.subject}`).replace(/\n/g, CRLF) + CRLF,
    messageId,
  };
}

/** A mail that forwards another one as a message/rfc822 attachment. */
function rfc822Forward(m: RawMail, original: string): { raw: string; messageId: string } {
  const messageId = m.messageId ?? `<linking-${process.pid}-${++seq}@test.example>`;
  const boundary = `b-${seq}`;
  const text = [
    `From: ${m.from}`,
    `To: ${m.to}`,
    `Subject: ${m.subject}`,
    `Date: ${new Date().toUTCString().replace(/GMT$/, '+0000')}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Siehe Anhang.',
    `--${boundary}`,
    'Content-Type: message/rfc822',
    'Content-Disposition: attachment; filename="original.eml"',
    '',
    original.replace(/\r\n/g, '\n').replace(/\n/g, CRLF).trimEnd(),
    `--${boundary}--`,
    '',
  ].join(CRLF);
  return { raw: text, messageId };
}

describe('mail belongs to a record: threading, assignment, the agent address, "E-Mail received"', () => {
  let t: TestApp;
  let peers: MailPeers;
  let admin: string;
  let accountId: string;
  let workflow: any;
  let filteredWorkflow: any;
  const ids: Record<string, string> = {};

  const linking = {
    collections: [
      {
        name: 'cases',
        shortName: 'case',
        emailFields: ['email', 'contact.email'],
        openFilter: { status: { $ne: 'closed' } },
      },
      { name: 'contacts', emailFields: ['email'] },
    ],
    agentAddress: agent.user,
    subjectToken: { format: '[#{id}]' },
    createByForward: {
      collection: 'cases',
      fieldMap: { title: 'subject', description: 'text', contact: 'from' },
      contactLookup: { collection: 'contacts', emailField: 'email', createMissing: true, nameField: 'name' },
    },
  };

  const cases = () => t.db.getRepository('cases');
  const contacts = () => t.db.getRepository('contacts');
  const messages = () => t.db.getModel('mailMessages');
  const syncNow = async () => {
    const res = await t.agent(admin).post('mailAccounts:syncNow', {}, { filterByTk: accountId });
    expect(res.status).toBe(200);
    if (!res.body.data.ok) throw new Error(`sync failed: ${JSON.stringify(res.body.data)}`);
    return res.body.data;
  };
  const deliver = (rcpt: string, mail: { raw: string }) => peers.dovecot.deliver(rcpt, mail.raw);
  const stored = async (messageId: string) => {
    const row = await messages().findOne({ where: { accountId, messageId }, order: [['id', 'DESC']] });
    expect(row).toBeTruthy();
    return row;
  };
  const linksOf = async (
    messageId: string,
  ): Promise<Array<{ collection: string; recordId: string; linkedBy: string }>> => {
    const row = await stored(messageId);
    const links = await t.db
      .getModel('mailLinks')
      .findAll({ where: { threadId: row.get('threadId') }, order: [['id', 'ASC']], raw: true });
    return links.map((l: any) => ({ collection: l.collection, recordId: String(l.recordId), linkedBy: l.linkedBy }));
  };
  const executionsFor = async (wf: any, messageId: string) => {
    const all = await t.db.getRepository('executions').find({ filter: { workflowId: wf.get('id') } });
    return all.filter((e: any) => e.get('context')?.message?.messageId === messageId);
  };
  const caseCount = () => cases().count();

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    peers = await startMailPeers([agent, kunde]);
    t = await createTestApp({ plugins: ['workflow'] });
    admin = await t.signIn();

    t.db.collection({
      name: 'contacts',
      fields: [
        { name: 'name', type: 'string' },
        { name: 'email', type: 'string' },
      ],
    });
    t.db.collection({
      name: 'cases',
      fields: [
        { name: 'title', type: 'string' },
        { name: 'description', type: 'text' },
        { name: 'status', type: 'string', defaultValue: 'open' },
        { name: 'email', type: 'string' },
        { name: 'contact', type: 'belongsTo', target: 'contacts', foreignKey: 'contactId' },
      ],
    });
    await t.db.sync();

    const otto = await contacts().create({ values: { name: 'Otto', email: 'otto@kunde.test' } });
    ids.otto = String(otto.get('id'));
    ids.ottoClosed = String(
      (await cases().create({ values: { title: 'Alt', status: 'closed', contactId: otto.get('id') } })).get('id'),
    );
    ids.ottoOpen = String(
      (await cases().create({ values: { title: 'Offen', status: 'open', contactId: otto.get('id') } })).get('id'),
    );
    ids.karl = String((await contacts().create({ values: { name: 'Karl', email: 'karl@kunde.test' } })).get('id'));

    // Imported history: must neither create records nor fire, but existing records are still found.
    await seedMaildir(peers.dovecot, agent.user, 'INBOX', [
      raw({
        from: 'Hanna <hanna@kunde.test>',
        to: agent.user,
        subject: 'Alte Anfrage',
        messageId: '<history-1@kunde.test>',
      }).raw,
      raw({
        from: 'Otto <otto@kunde.test>',
        to: agent.user,
        subject: 'Alte Nachricht',
        messageId: '<history-2@kunde.test>',
      }).raw,
    ]);
    await seedMaildir(peers.dovecot, agent.user, 'Archive', []);

    workflow = await t.db.getRepository('workflows').create({
      values: { title: 'E-Mail received', enabled: true, type: 'mailbridgeReceived', sync: true, config: {} },
    });
    filteredWorkflow = await t.db.getRepository('workflows').create({
      values: {
        title: 'Invoices only',
        enabled: true,
        type: 'mailbridgeReceived',
        sync: true,
        config: { subjectContains: 'rechnung', folder: 'INBOX' },
      },
    });

    const settings = {
      ...peers.accountValues(agent).settings,
      sync: { intervalSeconds: 3600, folders: ['INBOX', 'Archive'] },
      linking,
    };
    const res = await t.agent(admin).post('mailAccounts:create', peers.accountValues(agent, { settings }));
    expect(res.status).toBe(200);
    accountId = String(res.body.data.id);
    await syncNow();
  });

  afterAll(async () => {
    await t?.destroy();
    await peers?.stop();
  });

  it('imports history quietly: no record created, no workflow started, existing records still linked', async () => {
    expect(await messages().count({ where: { accountId } })).toBe(2);
    expect(await caseCount()).toBe(2);
    expect(await linksOf('<history-1@kunde.test>')).toEqual([]);
    expect(await linksOf('<history-2@kunde.test>')).toEqual(
      expect.arrayContaining([
        { collection: 'contacts', recordId: ids.otto, linkedBy: 'participant' },
        { collection: 'cases', recordId: ids.ottoOpen, linkedBy: 'participant' },
      ]),
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(await t.db.getRepository('executions').count({ filter: { workflowId: workflow.get('id') } })).toBe(0);
  });

  it('joins a 20-mail conversation delivered out of order into one thread on one record', async () => {
    const record = await cases().create({ values: { title: 'Heizung', status: 'open' } });
    const caseId = String(record.get('id'));
    const before = await caseCount();
    const chain: Array<{ raw: string; messageId: string }> = [];
    for (let i = 0; i < 20; i++) {
      const parent = chain[i - 1];
      chain.push(
        raw({
          from: i % 2 ? 'Ralf <ralf@extern.test>' : 'Rita <rita@extern.test>',
          to: i === 0 ? `agent+case-${caseId}@example.test` : agent.user,
          subject: i === 0 ? 'Heizung defekt' : 'Re: Heizung defekt',
          messageId: `<conv-${i}-${process.pid}@extern.test>`,
          inReplyTo: parent?.messageId,
          date: new Date(Date.now() - (20 - i) * 60_000),
        }),
      );
    }
    const order = [7, 3, 15, 19, 11, 2, 18, 6, 13, 9, 0, 17, 5, 12, 1, 16, 8, 4, 14, 10];
    for (let start = 0; start < order.length; start += 5) {
      for (const i of order.slice(start, start + 5))
        await deliver(i === 0 ? `agent+case-${caseId}@example.test` : agent.user, chain[i]);
      await syncNow();
    }
    const rows = await messages().findAll({ where: { accountId, messageId: chain.map((c) => c.messageId) } });
    expect(rows).toHaveLength(20);
    const threadIds = new Set<string>(rows.map((r: any) => String(r.get('threadId'))));
    expect(threadIds.size).toBe(1);
    const [threadId] = [...threadIds];
    ids.conversationThread = threadId;
    ids.conversationIds = JSON.stringify(chain.map((c) => c.messageId));
    const links = await t.db.getModel('mailLinks').findAll({ where: { threadId }, raw: true });
    expect(links.map((l: any) => [l.collection, String(l.recordId)])).toEqual([['cases', caseId]]);
    const thread = await t.db.getModel('mailThreads').findByPk(threadId);
    expect(thread.get('messageCount')).toBe(20);
    expect(thread.get('subject')).toBe('Heizung defekt');
    // Replies that came before the root created no records of their own.
    expect(await caseCount()).toBe(before);
    // A reply that arrived after the root reaches the record through the thread; the workflow sees that.
    const [reply] = await executionsFor(workflow, chain[4].messageId);
    expect(reply.get('context').links).toEqual([
      expect.objectContaining({
        collection: 'cases',
        recordId: caseId,
        linkedBy: 'thread',
        record: expect.objectContaining({ title: 'Heizung' }),
      }),
    ]);

    const history = await t.agent(admin).get('mailLinks:list', { collection: 'cases', recordId: caseId });
    expect(history.status).toBe(200);
    expect(history.body.data).toHaveLength(1);
    expect(history.body.data[0]).toMatchObject({
      id: expect.anything(),
      messageCount: 20,
      link: { linkedBy: 'agent-address' },
    });
    expect(history.body.data[0].lastMessage.subject).toBe('Re: Heizung defekt');
  });

  it('files a mail to the agent plus-address on that record', async () => {
    const record = await cases().create({ values: { title: 'Plus', status: 'open' } });
    ids.plus = String(record.get('id'));
    const before = await caseCount();
    const mail = raw({
      from: 'Xaver <xaver@somewhere.test>',
      to: `agent+case-${ids.plus}@example.test`,
      subject: 'Frage zum Vorgang',
    });
    await deliver(`agent+case-${ids.plus}@example.test`, mail);
    await syncNow();
    expect(await linksOf(mail.messageId)).toEqual([
      { collection: 'cases', recordId: ids.plus, linkedBy: 'agent-address' },
    ]);
    expect(await caseCount()).toBe(before);
  });

  it('files a subject token from a participant of the record, and refuses the same token from a stranger', async () => {
    const known = raw({ from: 'xaver@somewhere.test', to: agent.user, subject: `Nachtrag [#case-${ids.plus}]` });
    await deliver(agent.user, known);
    const stranger = raw({ from: 'Fremd <fremd@evil.test>', to: agent.user, subject: `Hallo [#case-${ids.plus}]` });
    await deliver(agent.user, stranger);
    await syncNow();
    expect(await linksOf(known.messageId)).toEqual([
      { collection: 'cases', recordId: ids.plus, linkedBy: 'subject-token' },
    ]);
    const strangerLinks = await linksOf(stranger.messageId);
    expect(strangerLinks.some((l) => l.recordId === ids.plus && l.collection === 'cases')).toBe(false);
  });

  it('files a mail from a contact on the contact and on its open case, not the closed one', async () => {
    const before = await caseCount();
    const mail = raw({ from: 'Otto <otto@kunde.test>', to: agent.user, subject: 'Wie ist der Stand?' });
    await deliver(agent.user, mail);
    await syncNow();
    const links = await linksOf(mail.messageId);
    expect(links).toEqual(
      expect.arrayContaining([
        { collection: 'contacts', recordId: ids.otto, linkedBy: 'participant' },
        { collection: 'cases', recordId: ids.ottoOpen, linkedBy: 'participant' },
      ]),
    );
    expect(links.some((l) => l.recordId === ids.ottoClosed && l.collection === 'cases')).toBe(false);
    expect(await caseCount()).toBe(before);
  });

  it('creates exactly one case from a forward, filed under the original sender, also when synced twice and after a resync', async () => {
    const before = await caseCount();
    const forward = raw({
      from: 'Eva <eva@firma.test>',
      to: agent.user,
      subject: 'Fwd: Rechnung falsch',
      text: 'Bitte kümmern.\n\n---------- Forwarded message ---------\nFrom: Karl Kunde <karl@kunde.test>\nDate: Mon, 1 Jan 2024\nSubject: Rechnung falsch\n\nDie Rechnung stimmt nicht.',
    });
    await deliver(agent.user, forward);
    await syncNow();
    expect(await caseCount()).toBe(before + 1);
    const created = await cases().findOne({ filter: { title: 'Rechnung falsch' } });
    expect(created).toBeTruthy();
    expect(String(created.get('contactId'))).toBe(ids.karl);
    expect(created.get('description')).toContain('Die Rechnung stimmt nicht.');
    const caseId = String(created.get('id'));
    expect(await linksOf(forward.messageId)).toEqual(
      expect.arrayContaining([
        { collection: 'contacts', recordId: ids.karl, linkedBy: 'participant' },
        { collection: 'cases', recordId: caseId, linkedBy: 'created' },
      ]),
    );

    // The same mail in a second folder.
    await seedMaildir(peers.dovecot, agent.user, 'Archive', [forward.raw]);
    await syncNow();
    expect(await messages().count({ where: { accountId, messageId: forward.messageId } })).toBe(2);
    expect(await caseCount()).toBe(before + 1);

    // A resync of the inbox: every row stored again (imported history), links come back, nothing new is created.
    await messages().destroy({ where: { accountId, folder: 'INBOX' } });
    await t.db.getModel('mailSyncState').destroy({ where: { accountId, folder: 'INBOX' } });
    await syncNow();
    const copies = await messages().findAll({ where: { accountId, messageId: forward.messageId } });
    expect(copies).toHaveLength(2);
    expect(new Set(copies.map((c: any) => String(c.get('threadId')))).size).toBe(1);
    expect(await caseCount()).toBe(before + 1);
    expect(await linksOf(forward.messageId)).toEqual(
      expect.arrayContaining([{ collection: 'cases', recordId: caseId, linkedBy: 'created' }]),
    );
    // The conversation's rows are new rows now, and back in their old thread (found through the stored references).
    const conversation = await messages().findAll({ where: { accountId, messageId: JSON.parse(ids.conversationIds) } });
    expect(conversation).toHaveLength(20);
    expect(new Set(conversation.map((c: any) => String(c.get('threadId'))))).toEqual(new Set([ids.conversationThread]));

    // Workflows fired once for the forward, not for its second copy nor for the resync.
    const fired = await waitFor(
      async () => {
        const list = await executionsFor(workflow, forward.messageId);
        return list.length ? list : null;
      },
      10000,
      'the execution of the forward',
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(await executionsFor(workflow, forward.messageId)).toHaveLength(fired.length);
    expect(fired).toHaveLength(1);
    const context = fired[0].get('context');
    expect(context.message.subject).toBe('Fwd: Rechnung falsch');
    expect(context.thread).toMatchObject({ id: expect.anything() });
    expect(context.links).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          collection: 'cases',
          recordId: caseId,
          record: expect.objectContaining({ title: 'Rechnung falsch' }),
        }),
      ]),
    );
    // The "invoices" workflow filters by subject: the forward ("Rechnung") matches.
    await waitFor(
      async () => (await executionsFor(filteredWorkflow, forward.messageId)).length === 1,
      10000,
      'the filtered workflow',
    );
  });

  it("creates a case from a message/rfc822 forward under the attached message's sender (a new contact)", async () => {
    const before = await caseCount();
    const original = raw({
      from: 'Olga Neu <olga@kunde.test>',
      to: 'eva@firma.test',
      subject: 'Lieferung fehlt',
      text: 'Wo bleibt die Lieferung?',
    });
    const forward = rfc822Forward(
      { from: 'Eva <eva@firma.test>', to: agent.user, subject: 'WG: Lieferung fehlt' },
      original.raw,
    );
    await deliver(agent.user, forward);
    await syncNow();
    expect(await caseCount()).toBe(before + 1);
    const created = await cases().findOne({ filter: { title: 'Lieferung fehlt' }, appends: ['contact'] });
    expect(created.get('contact')).toMatchObject({ email: 'olga@kunde.test', name: 'Olga Neu' });
  });

  it('creates nothing and starts nothing for auto-replies, bulk and list mail', async () => {
    const before = await caseCount();
    const machine = [
      raw({
        from: 'urlaub@kunde.test',
        to: agent.user,
        subject: 'Abwesend',
        headers: ['Auto-Submitted: auto-replied'],
      }),
      raw({ from: 'news@kunde.test', to: agent.user, subject: 'Newsletter', headers: ['Precedence: bulk'] }),
      raw({ from: 'liste@kunde.test', to: agent.user, subject: 'Liste', headers: ['List-Id: <liste.kunde.test>'] }),
      raw({
        from: 'ooo@kunde.test',
        to: agent.user,
        subject: 'Out of office',
        headers: ['X-Auto-Response-Suppress: All'],
      }),
      raw({ from: agent.user, to: agent.user, subject: 'An mich selbst' }),
    ];
    for (const m of machine) await deliver(agent.user, m);
    const human = raw({ from: 'Mensch <mensch@kunde.test>', to: agent.user, subject: 'Eine echte Frage' });
    await deliver(agent.user, human);
    await syncNow();
    expect(await caseCount()).toBe(before + 1);
    expect(await cases().findOne({ filter: { title: 'Eine echte Frage' } })).toBeTruthy();
    // The human mail fires after the machine mails: once it has, the machine mails provably did not.
    await waitFor(
      async () => (await executionsFor(workflow, human.messageId)).length > 0,
      10000,
      'the human mail to fire',
    );
    for (const m of machine) expect(await executionsFor(workflow, m.messageId)).toHaveLength(0);
  });

  it('stops creating and firing for a sender above the storm limit', async () => {
    const account = await t.db.getRepository('mailAccounts').findOne({ filterByTk: accountId });
    const settings = account.get('settings');
    await t
      .agent(admin)
      .post(
        'mailAccounts:update',
        { settings: { ...settings, linking: { ...linking, maxPerSenderPerHour: 2 } } },
        { filterByTk: accountId },
      );
    const before = await caseCount();
    const storm = [1, 2, 3, 4].map((i) => raw({ from: 'bot@loop.test', to: agent.user, subject: `Ticket ${i}` }));
    for (const m of storm) await deliver(agent.user, m);
    await syncNow();
    expect(await caseCount()).toBe(before + 2);
    await waitFor(
      async () => (await executionsFor(workflow, storm[1].messageId)).length > 0,
      10000,
      'the second storm mail to fire',
    );
    expect(await executionsFor(workflow, storm[2].messageId)).toHaveLength(0);
    expect(await executionsFor(workflow, storm[3].messageId)).toHaveLength(0);
    await t.agent(admin).post('mailAccounts:update', { settings: { ...settings, linking } }, { filterByTk: accountId });
  });

  it('fires once per new mail and not again for the same mail in another folder', async () => {
    const mail = raw({ from: 'Tina <tina@kunde.test>', to: agent.user, subject: 'Trigger-Test' });
    await deliver(agent.user, mail);
    await syncNow();
    const first = await waitFor(
      async () => {
        const list = await executionsFor(workflow, mail.messageId);
        return list.length ? list : null;
      },
      10000,
      'the execution',
    );
    expect(first).toHaveLength(1);
    expect(await executionsFor(filteredWorkflow, mail.messageId)).toHaveLength(0);
    await seedMaildir(peers.dovecot, agent.user, 'Archive', [mail.raw]);
    const marker = raw({ from: 'Tina <tina@kunde.test>', to: agent.user, subject: 'Marker' });
    await deliver(agent.user, marker);
    await syncNow();
    await waitFor(
      async () => (await executionsFor(workflow, marker.messageId)).length > 0,
      10000,
      'the marker to fire',
    );
    expect(await executionsFor(workflow, mail.messageId)).toHaveLength(1);
  });

  it('sends from a record with its token and plus-address; the answer comes back to the record', async () => {
    const record = await cases().create({ values: { title: 'Rückfrage', status: 'open', email: kunde.user } });
    const caseId = String(record.get('id'));
    const before = await caseCount();
    const res = await t.agent(admin).post('mailMessages:send', {
      accountId,
      to: [kunde.user],
      subject: 'Ihr Anliegen',
      text: 'Wir melden uns.',
      record: { collection: 'cases', id: caseId },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.state).toBe('sent');
    const sentId = res.body.data.messageId;
    const sent = peers.sink.received.find((m) => m.raw.toString().includes(sentId.slice(1, -1)));
    expect(sent).toBeTruthy();
    const text = sent!.raw.toString();
    expect(text).toContain(`Subject: Ihr Anliegen [#case-${caseId}]`);
    expect(text).toMatch(new RegExp(`Reply-To: agent\\+case-${caseId}@example\\.test`));
    expect(await linksOf(sentId)).toEqual([{ collection: 'cases', recordId: caseId, linkedBy: 'outgoing' }]);

    const answer = raw({
      from: `Kunde <${kunde.user}>`,
      to: `agent+case-${caseId}@example.test`,
      subject: `Re: Ihr Anliegen [#case-${caseId}]`,
      inReplyTo: sentId,
    });
    await deliver(`agent+case-${caseId}@example.test`, answer);
    await syncNow();
    const reply = await stored(answer.messageId);
    const original = await messages().findOne({ where: { accountId, messageId: sentId } });
    expect(String(reply.get('threadId'))).toBe(String(original.get('threadId')));
    expect(await linksOf(answer.messageId)).toEqual([{ collection: 'cases', recordId: caseId, linkedBy: 'outgoing' }]);
    expect(await caseCount()).toBe(before);
  });

  it('joins by subject and participants only when the account turns the fallback on', async () => {
    const account = await t.db.getRepository('mailAccounts').findOne({ filterByTk: accountId });
    const settings = account.get('settings');
    const first = raw({ from: 'Pia <pia@kunde.test>', to: agent.user, subject: 'Projekt Alpha' });
    const again = raw({ from: 'Pia <pia@kunde.test>', to: agent.user, subject: 'AW: Projekt Alpha' });
    await deliver(agent.user, first);
    await deliver(agent.user, again);
    await syncNow();
    expect(String((await stored(again.messageId)).get('threadId'))).not.toBe(
      String((await stored(first.messageId)).get('threadId')),
    );

    await t
      .agent(admin)
      .post(
        'mailAccounts:update',
        { settings: { ...settings, linking: { ...linking, fuzzyThreadWindowDays: 14 } } },
        { filterByTk: accountId },
      );
    const start = raw({ from: 'Pia <pia@kunde.test>', to: agent.user, subject: 'Projekt Beta' });
    await deliver(agent.user, start);
    await syncNow();
    const followUp = raw({ from: 'Pia <pia@kunde.test>', to: agent.user, subject: 'AW: Projekt Beta' });
    const stranger = raw({ from: 'Sam <sam@woanders.test>', to: agent.user, subject: 'Projekt Beta' });
    await deliver(agent.user, followUp);
    await deliver(agent.user, stranger);
    await syncNow();
    const thread = String((await stored(start.messageId)).get('threadId'));
    expect(String((await stored(followUp.messageId)).get('threadId'))).toBe(thread);
    expect(String((await stored(stranger.messageId)).get('threadId'))).not.toBe(thread);
    await t.agent(admin).post('mailAccounts:update', { settings: { ...settings, linking } }, { filterByTk: accountId });
  });

  it('links and unlinks by hand only for users who may use the account', async () => {
    const mail = await stored('<history-1@kunde.test>');
    const record = await cases().create({ values: { title: 'Manuell' } });
    const recordId = String(record.get('id'));
    await t.db
      .getRepository('users')
      .create({ values: { email: 'member@example.test', password: 'member-pw-1', roles: ['member'] } });
    const member = await t.signIn('member@example.test', 'member-pw-1');
    const refused = await t
      .agent(member)
      .post('mailLinks:create', { mailMessageId: mail.get('id'), collection: 'cases', recordId });
    expect(refused.status).toBe(404);
    expect((await t.agent(member).get('mailLinks:list', { collection: 'cases', recordId })).body.data ?? []).toEqual(
      [],
    );

    const created = await t
      .agent(admin)
      .post('mailLinks:create', { mailMessageId: mail.get('id'), collection: 'cases', recordId });
    expect(created.status).toBe(200);
    expect(created.body.data).toMatchObject({ collection: 'cases', recordId, linkedBy: 'manual' });
    const list = await t.agent(admin).get('mailLinks:list', { collection: 'cases', recordId });
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0].lastMessage.subject).toBe('Alte Anfrage');
    expect((await t.agent(member).post('mailLinks:destroy', {}, { filterByTk: created.body.data.id })).status).toBe(
      404,
    );
    expect((await t.agent(admin).post('mailLinks:destroy', {}, { filterByTk: created.body.data.id })).status).toBe(200);
    expect((await t.agent(admin).get('mailLinks:list', { collection: 'cases', recordId })).body.data).toEqual([]);
    expect(
      (await t.agent(admin).post('mailLinks:create', { mailMessageId: mail.get('id'), collection: 'nope', recordId }))
        .status,
    ).toBe(404);

    // Once the account is assigned to them, the member files the thread too.
    const memberId = (await t.db.getRepository('users').findOne({ filter: { email: 'member@example.test' } })).get(
      'id',
    );
    await t.agent(admin).post('mailAccounts:update', { userIds: [memberId] }, { filterByTk: accountId });
    const byMember = await t
      .agent(member)
      .post('mailLinks:create', { mailMessageId: mail.get('id'), collection: 'cases', recordId });
    expect(byMember.status).toBe(200);
    expect(String(byMember.body.data.createdById)).toBe(String(memberId));
    expect((await t.agent(member).get('mailLinks:list', { collection: 'cases', recordId })).body.data).toHaveLength(1);
  });
});
