import type { Application } from '@nocobase/server';
import { Op } from '@nocobase/database';
import type { MailService } from '../mailService';
import type { MessagesStoredEvent } from '../mailEvents';
import type { MailReceivedContext, MailReceivedTrigger } from '../workflow/mailReceivedTrigger';
import { chunks } from '../sync/threading';
import { LinkingSettings, LinkCollectionRule, LinkedBy, readLinkingSettings } from './linkingSettings';
import { addressesOf, loadMessageRows, MessageRow } from './messageRow';
import { ancestryOf, joinThreads } from './threadJoin';
import { addLinks, LinkInput, LinkRow, linksOfThreads, threadsOfRecord } from './linkStore';
import { headerLoopReason, LoopReason, OwnAddresses } from './loopProtection';
import { agentDetail, baseAddress, ParsedToken, parsePrefixedToken, parseSubjectTokens } from './tokens';
import { EmailMatch, emailsOfRecord, recordJson, recordsByEmail, recordsByToken } from './records';
import { inlineForwardSender, isForwardSubject, OriginalSender, readHead, rfc822Sender } from './forwarded';
import { createRecordFromMail, creationKey, existingCreations, messageKey } from './createByForward';
import { SenderActivity } from './senderActivity';

const MAX_PARTICIPANT_LINKS = 5;
const MAX_RFC822_DOWNLOADS = 5;
const MAX_CONTEXT_TEXT = 200_000;

interface RowInfo {
  loop?: LoopReason;
  toAgent: boolean;
  plusTokens: ParsedToken[];
  subjectTokens: ParsedToken[];
  original?: OriginalSender;
  storm?: boolean;
}

// Files stored mail on records, in the order the design gives: (a) the thread is linked already, (b) the agent's
// plus-address, (c) a subject token sent by someone who belongs to the record, (d) participants matching a
// record's e-mail fields; a mail to the agent address that matches nothing creates a record. Then it fires the
// "E-Mail received" trigger. Runs after each stored batch, one batch of an account at a time.
export class LinkingService {
  readonly own: OwnAddresses;
  private activity: SenderActivity;

  constructor(
    private app: Application,
    private mail: MailService,
    private trigger?: MailReceivedTrigger,
  ) {
    this.own = new OwnAddresses(app.db);
    this.activity = new SenderActivity(app.db);
  }

  private get db(): any {
    return this.app.db;
  }

  handle(event: MessagesStoredEvent): Promise<void> {
    const run = () => this.process(event);
    const locks: any = (this.app as any).lockManager;
    return locks ? locks.runExclusive(`mailbridge:linking:${event.accountId}`, run, 300_000) : run();
  }

  private async process(event: MessagesStoredEvent) {
    const account = event.account ?? (await this.db.getModel('mailAccounts').findByPk(event.accountId));
    if (!account) return;
    const settings = readLinkingSettings(account.get('settings'));
    const rows = event.rows ?? (await loadMessageRows(this.db, event.messageIds.map(String)));
    if (!rows.length) return;
    const own = await this.own.get();
    const { seenBefore } = await joinThreads(this.db, String(event.accountId), rows, settings, own);
    if (event.direction === 'out') return this.linkSent(rows, event);
    await this.linkIncoming(account, settings, rows, seenBefore, event, own);
  }

  // A mail sent from a record: its thread belongs to the record, so the answer comes back to it.
  private async linkSent(rows: MessageRow[], event: MessagesStoredEvent) {
    const entry = event.outboxEntry;
    const link = entry?.get ? entry.get('link') : entry?.link;
    if (
      !link?.collection ||
      link.recordId === undefined ||
      link.recordId === null ||
      !this.db.hasCollection(link.collection)
    )
      return;
    const createdById = entry?.get ? entry.get('createdById') : entry?.createdById;
    await addLinks(
      this.db,
      rows.map((r) => ({
        threadId: r.threadId,
        accountId: r.accountId,
        mailMessageId: r.id,
        collection: link.collection,
        recordId: String(link.recordId),
        linkedBy: 'outgoing' as LinkedBy,
        createdById: createdById ?? null,
      })),
    );
  }

  private async linkIncoming(
    account: any,
    settings: LinkingSettings,
    rows: MessageRow[],
    seenBefore: Set<string>,
    event: MessagesStoredEvent,
    own: Set<string>,
  ) {
    const db = this.db;
    const quiet = event.initial && !settings.importHistory;
    const accountAddress = baseAddress(String(account.get('address') ?? ''));
    const agent = settings.agentAddress;
    const linksByThread = await linksOfThreads(
      db,
      rows.map((r) => r.threadId),
    );
    const covered = (threadId: string) => new Set((linksByThread.get(threadId) ?? []).map((l) => l.collection));
    const newLinks: LinkInput[] = [];
    const addLink = (row: MessageRow, collection: string, recordId: string, linkedBy: LinkedBy) => {
      const list = linksByThread.get(row.threadId) ?? [];
      if (list.some((l) => l.collection === collection && l.recordId === recordId)) return undefined;
      const link: LinkInput = {
        threadId: row.threadId,
        accountId: row.accountId,
        mailMessageId: row.id,
        collection,
        recordId,
        linkedBy,
      };
      list.push({ threadId: row.threadId, mailMessageId: row.id, collection, recordId, linkedBy });
      linksByThread.set(row.threadId, list);
      newLinks.push(link);
      return link;
    };

    const infos = new Map<MessageRow, RowInfo>();
    for (const row of rows) {
      const recipients = [
        ...addressesOf([...row.to, ...row.cc, ...row.bcc]),
        ...headerAddresses(row.headers?.deliveredTo),
        ...headerAddresses(row.headers?.xOriginalTo),
      ];
      const sender = row.fromAddress ? baseAddress(row.fromAddress) : undefined;
      const ours = sender && (own.has(sender) || sender === accountAddress || (agent && sender === baseAddress(agent)));
      const loop = headerLoopReason(row.headers, row.fromAddress) ?? (ours ? 'own-address' : undefined);
      const toAgent = Boolean(
        agent &&
        (accountAddress === baseAddress(agent) || recipients.some((a) => baseAddress(a) === baseAddress(agent))),
      );
      const plusTokens = agent
        ? (recipients.map((a) => agentDetail(a, agent)).filter(Boolean) as string[])
            .map((detail) => parsePrefixedToken(settings, detail))
            .filter((t): t is ParsedToken => Boolean(t))
        : [];
      infos.set(row, { loop, toAgent, plusTokens, subjectTokens: parseSubjectTokens(settings, row.subject) });
    }

    await this.findOriginalSenders(account, rows, infos, linksByThread);
    const tokenRecords = await this.resolveTokens(rows, infos);
    const participantsOf = (row: MessageRow) => {
      const info = infos.get(row)!;
      const list = info.original
        ? [info.original.address]
        : addressesOf([row.from, ...row.replyTo, ...row.to, ...row.cc]);
      return [...new Set(list.map((a) => a.toLowerCase()))].filter((a) => {
        const base = baseAddress(a);
        return !own.has(base) && base !== accountAddress && (!agent || base !== baseAddress(agent));
      });
    };
    const participantMatches = await this.matchParticipants(settings, rows, participantsOf);

    // The storm limit counts new mail per sender; mail that could create or trigger something is counted. An
    // imported history (importHistory) is old mail arriving at once, not a storm.
    const eligible = rows.filter(
      (r) => !event.initial && !infos.get(r)!.loop && !seenBefore.has(r.id) && r.fromAddress,
    );
    if (eligible.length) {
      const counts = await this.activity.countsLastHour(
        String(event.accountId),
        eligible.map((r) => baseAddress(r.fromAddress!)),
      );
      for (const r of eligible) {
        const sender = baseAddress(r.fromAddress!);
        const n = (counts.get(sender) ?? 0) + 1;
        counts.set(sender, n);
        if (n > settings.maxPerSenderPerHour) infos.get(r)!.storm = true;
      }
      await this.activity.record(
        String(event.accountId),
        eligible.map((r) => baseAddress(r.fromAddress!)),
      );
    }

    const forward = settings.createByForward;
    const creations = forward
      ? await existingCreations(
          db,
          rows.filter((r) => infos.get(r)!.toAgent).map((r) => creationKey(forward.collection, r)),
        )
      : new Map<string, string>();
    const senderChecks = new Map<string, Promise<Set<string>>>();

    for (const row of rows) {
      const info = infos.get(row)!;
      // (b) the agent's plus-address names the record
      for (const token of info.plusTokens) {
        const recordId = tokenRecords.get(tokenKey(token));
        if (recordId) addLink(row, token.rule.name, recordId, 'agent-address');
      }
      // (c) a subject token, only from someone who belongs to the record
      for (const token of info.subjectTokens) {
        const recordId = tokenRecords.get(tokenKey(token));
        if (!recordId || !row.fromAddress) continue;
        const key = `${token.rule.name}|${recordId}`;
        if (!senderChecks.has(key))
          senderChecks.set(
            key,
            this.peopleOfRecord(token.rule, recordId).catch(() => new Set<string>()),
          );
        const people = await senderChecks.get(key)!;
        if (people.has(baseAddress(row.fromAddress))) addLink(row, token.rule.name, recordId, 'subject-token');
      }
      // (d) participants whose address is in a record's e-mail fields; not for a collection the mail is already filed in
      const mine = new Set(participantsOf(row));
      for (const rule of settings.collections) {
        if (!rule.emailFields?.length || covered(row.threadId).has(rule.name)) continue;
        const matches = (participantMatches.get(rule.name) ?? []).filter((m) => [...m.emails].some((e) => mine.has(e)));
        for (const m of matches.slice(0, MAX_PARTICIPANT_LINKS)) addLink(row, rule.name, m.recordId, 'participant');
      }
      // A mail to the agent address that is filed nowhere in the target collection creates a record there, if it
      // starts something: a reply to mail we do not know (yet) rather belongs to a conversation whose start is
      // still to come, and joins that conversation's record when it does.
      const startsSomething = !ancestryOf(row).length || Boolean(info.original) || isForwardSubject(row.subject);
      if (forward && info.toAgent && !covered(row.threadId).has(forward.collection)) {
        const key = creationKey(forward.collection, row);
        let recordId = creations.get(key);
        if (!recordId && startsSomething && !quiet && !info.loop && !info.storm) {
          const sender =
            info.original ??
            (row.from?.address ? { address: row.from.address.toLowerCase(), name: row.from.name } : undefined);
          try {
            recordId = (await createRecordFromMail(db, forward, row, sender))?.recordId;
          } catch (err: any) {
            this.app.log.error(
              `mail linking: could not create a "${forward.collection}" record from mail ${row.id} — check createByForward.fieldMap: ${err.message}`,
            );
          }
          if (recordId) creations.set(key, recordId);
        }
        if (recordId) {
          const link = addLink(row, forward.collection, recordId, 'created');
          if (link) {
            await addLinks(db, [link]);
            newLinks.splice(newLinks.indexOf(link), 1);
          }
        }
      }
    }
    await addLinks(db, newLinks);

    if (this.trigger?.hasWorkflows()) {
      const firing = rows.filter((r) => !quiet && !seenBefore.has(r.id) && !infos.get(r)!.loop && !infos.get(r)!.storm);
      await this.fireTrigger(firing, linksByThread);
    }
  }

  /** The people who belong to a record: its e-mail fields and everyone in the threads filed on it. */
  private async peopleOfRecord(rule: LinkCollectionRule, recordId: string): Promise<Set<string>> {
    const people = new Set([...(await emailsOfRecord(this.db, rule, recordId))].map(baseAddress));
    const threads = await threadsOfRecord(this.db, rule.name, recordId);
    for (const part of chunks(threads, 200)) {
      const messages = await this.db.getModel('mailMessages').findAll({
        attributes: ['from', 'to', 'cc', 'replyTo'],
        where: { threadId: { [Op.in]: part } },
        limit: 2000,
      });
      for (const m of messages) {
        for (const a of addressesOf([
          m.get('from'),
          ...(m.get('to') ?? []),
          ...(m.get('cc') ?? []),
          ...(m.get('replyTo') ?? []),
        ])) {
          people.add(baseAddress(a));
        }
      }
    }
    return people;
  }

  private async resolveTokens(rows: MessageRow[], infos: Map<MessageRow, RowInfo>): Promise<Map<string, string>> {
    const wanted = new Map<LinkCollectionRule, Set<string>>();
    for (const row of rows) {
      const info = infos.get(row)!;
      for (const token of [...info.plusTokens, ...info.subjectTokens]) {
        if (!wanted.has(token.rule)) wanted.set(token.rule, new Set());
        wanted.get(token.rule)!.add(token.value);
      }
    }
    const out = new Map<string, string>();
    for (const [rule, values] of wanted) {
      let found: Map<string, string>;
      try {
        found = await recordsByToken(this.db, rule, [...values]);
      } catch (err: any) {
        this.app.log.warn(
          `mail linking: looking up tokens in "${rule.name}" failed — check tokenField: ${err.message}`,
        );
        continue;
      }
      for (const value of values) {
        const recordId = found.get(value) ?? found.get(value.toLowerCase());
        if (recordId) out.set(tokenKey({ rule, value }), recordId);
      }
    }
    return out;
  }

  private async matchParticipants(
    settings: LinkingSettings,
    rows: MessageRow[],
    participantsOf: (r: MessageRow) => string[],
  ) {
    const out = new Map<string, EmailMatch[]>();
    const rules = settings.collections.filter((c) => c.emailFields?.length);
    if (!rules.length) return out;
    const addresses = [...new Set(rows.flatMap(participantsOf))];
    if (!addresses.length) return out;
    for (const rule of rules) {
      try {
        const matches: EmailMatch[] = [];
        for (const part of chunks(addresses, 200)) matches.push(...(await recordsByEmail(this.db, rule, part)));
        out.set(rule.name, matches);
      } catch (err: any) {
        this.app.log.warn(
          `mail linking: participant matching in "${rule.name}" failed — check emailFields/openFilter: ${err.message}`,
        );
      }
    }
    return out;
  }

  // Forwards to the agent that start something new (their thread is filed nowhere yet) are filed under the
  // original sender: from an inline forward block, or from the headers of an attached message/rfc822.
  private async findOriginalSenders(
    account: any,
    rows: MessageRow[],
    infos: Map<MessageRow, RowInfo>,
    linksByThread: Map<string, LinkRow[]>,
  ) {
    const fresh = rows.filter((r) => infos.get(r)!.toAgent && !(linksByThread.get(r.threadId) ?? []).length);
    const needAttachment: MessageRow[] = [];
    for (const row of fresh) {
      const inline = inlineForwardSender(row.text, row.subject);
      if (inline) infos.get(row)!.original = inline;
      else if (row.hasAttachments) needAttachment.push(row);
    }
    if (!needAttachment.length) return;
    const parts = await this.db.getModel('mailAttachments').findAll({
      attributes: ['mailMessageId', 'partId'],
      where: { mailMessageId: { [Op.in]: needAttachment.map((r) => r.id) }, contentType: 'message/rfc822' },
      order: [['id', 'ASC']],
      raw: true,
    });
    const partOf = new Map<string, string>();
    for (const p of parts) if (!partOf.has(String(p.mailMessageId))) partOf.set(String(p.mailMessageId), p.partId);
    const todo = needAttachment.filter((r) => partOf.has(r.id)).slice(0, MAX_RFC822_DOWNLOADS);
    if (!todo.length) return;
    let source: any;
    try {
      source = await this.mail.engine.source(account);
      for (const row of todo) {
        try {
          const download = await source.downloadAttachment(row.folder, row.providerId, partOf.get(row.id)!);
          const original = rfc822Sender(await readHead(download.stream));
          if (original) infos.get(row)!.original = original;
        } catch (err: any) {
          this.app.log.warn(`mail linking: could not read the forwarded message in mail ${row.id}: ${err.message}`);
        }
      }
    } catch (err: any) {
      this.app.log.warn(`mail linking: could not open the mailbox to read forwarded messages: ${err.message}`);
    } finally {
      await source?.close().catch(() => undefined);
    }
  }

  private async fireTrigger(rows: MessageRow[], linksByThread: Map<string, LinkRow[]>) {
    const trigger = this.trigger!;
    for (const row of rows) {
      const links = linksByThread.get(row.threadId) ?? [];
      const event = {
        accountId: row.accountId,
        folder: row.folder,
        fromAddress: row.fromAddress,
        fromName: row.from?.name ?? null,
        subject: row.subject,
        linkedCollections: [...new Set(links.map((l) => l.collection))],
        messageKey: messageKey(row),
      };
      const workflows = trigger.matching(event);
      if (!workflows.length) continue;
      await trigger.fire(workflows, event, await this.triggerContext(row, links));
    }
  }

  private async triggerContext(row: MessageRow, links: LinkRow[]): Promise<MailReceivedContext> {
    const db = this.db;
    const stored = await db.getModel('mailMessages').findByPk(row.id, { include: [{ association: 'attachments' }] });
    const json = stored ? stored.toJSON() : {};
    const cap = (s: unknown) =>
      typeof s === 'string' && s.length > MAX_CONTEXT_TEXT ? s.slice(0, MAX_CONTEXT_TEXT) : (s ?? null);
    const message = {
      id: json.id,
      accountId: json.accountId,
      folder: json.folder,
      messageId: json.messageId,
      inReplyTo: json.inReplyTo,
      references: json.references ?? [],
      threadId: row.threadId,
      direction: json.direction,
      from: json.from,
      fromAddress: json.fromAddress,
      to: json.to ?? [],
      cc: json.cc ?? [],
      replyTo: json.replyTo ?? [],
      subject: json.subject,
      date: json.date,
      snippet: json.snippet,
      text: cap(json.text),
      html: cap(json.html),
      hasAttachments: json.hasAttachments,
      attachments: (json.attachments ?? []).map((a: any) => ({
        id: a.id,
        filename: a.filename,
        contentType: a.contentType,
        size: a.size,
      })),
      headers: json.headers ?? {},
    };
    const thread = await db.getModel('mailThreads').findByPk(row.threadId);
    const linked = [];
    for (const l of links) {
      // a link an earlier message of the thread made reaches this one through the thread
      const linkedBy = l.mailMessageId && l.mailMessageId !== row.id ? 'thread' : l.linkedBy;
      linked.push({
        collection: l.collection,
        recordId: l.recordId,
        linkedBy,
        record: await recordJson(db, l.collection, l.recordId),
      });
    }
    return { message, thread: thread ? thread.toJSON() : null, links: linked };
  }
}

const tokenKey = (t: { rule: LinkCollectionRule; value: string }) => `${t.rule.name}|${t.value}`;

function headerAddresses(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[,;\s]+/) : [];
  return list
    .map((v) =>
      String(typeof v === 'object' && v ? ((v as any).address ?? '') : v)
        .replace(/^<|>$/g, '')
        .trim()
        .toLowerCase(),
    )
    .filter((a) => a.includes('@'));
}
