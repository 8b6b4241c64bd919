import { startSmtpSink, SmtpSink } from '@mailbridge/mail-testkit';
import { createTestApp, TestApp } from '../support/nocobase';
import { freePort } from '../support/net';

// The outbox as its users see it: mails that did not go out are listed with the provider's answer, and can be
// sent again (once, with their Message-ID) or discarded, by the users of the account only. Real SMTP server
// (smtp-server with AUTH), NocoBase in-process.
const SENDER = { user: 'outbox-sender@example.test', password: 'pw-outbox-right-1' };
const REJECTED = 'nobody-here@example.test';

describe('the outbox: failed mails listed, sent again, discarded', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let admin: string;
  let assigned: string;
  let stranger: string;
  let accountId: string;
  let otherAccountId: string;
  let mail: any;

  beforeAll(async () => {
    process.env.MAILBRIDGE_BACKGROUND = 'off';
    sink = await startSmtpSink({ users: [SENDER], rejectRecipients: [REJECTED] });
    t = await createTestApp();
    admin = await t.signIn();
    mail = (t.app.pm.get('@mailbridge/plugin-mail') as any).mail;
    const users = t.db.getRepository('users');
    const member = await users.create({ values: { email: 'outbox-member@example.test', password: 'member-pw-1', roles: ['member'] } });
    await users.create({ values: { email: 'outbox-stranger@example.test', password: 'stranger-pw-1', roles: ['member'] } });
    assigned = await t.signIn('outbox-member@example.test', 'member-pw-1');
    stranger = await t.signIn('outbox-stranger@example.test', 'stranger-pw-1');
    const create = async (title: string, password: string, userIds: unknown[]) => {
      const res = await t.agent(admin).post('mailAccounts:create', {
        title,
        provider: 'smtp',
        address: SENDER.user,
        settings: { smtp: { host: '127.0.0.1', port: sink.port, security: 'none', user: SENDER.user } },
        secrets: { password },
        userIds,
      });
      expect(res.status).toBe(200);
      return String(res.body.data.id);
    };
    // a wrong password: every send fails until an admin fixes it
    accountId = await create('Support', 'pw-wrong', [member.get('id')]);
    otherAccountId = await create('Billing', SENDER.password, []);
  }, 120_000);

  afterAll(async () => {
    await t?.destroy();
    await sink?.close();
  });

  const send = (token: string, subject: string, extra: Record<string, unknown> = {}) =>
    t.agent(token).post('mailMessages:send', { accountId, to: ['customer@example.test'], subject, text: 'body text', source: 'ui', ...extra });

  it('a mail the server refused is listed with the error, without its body or attachment contents', async () => {
    const res = await send(assigned, 'Angebot Nr. 4711', {
      cc: ['boss@example.test'],
      attachments: [{ filename: 'offer.txt', contentType: 'text/plain', contentBase64: Buffer.from('SECRET-ATTACHMENT').toString('base64') }],
    });
    expect(res.status).toBe(200);
    expect(res.body.data.state).toBe('failed');

    const list = await t.agent(assigned).get('mailOutbox:list', { accountId });
    expect(list.status).toBe(200);
    expect(list.body.meta).toMatchObject({ count: 1, failed: 1 });
    const [entry] = list.body.data;
    expect(entry).toMatchObject({
      state: 'failed',
      errorCode: 'AUTH_FAILED',
      subject: 'Angebot Nr. 4711',
      to: [{ address: 'customer@example.test' }],
      cc: [{ address: 'boss@example.test' }],
      attachmentCount: 1,
    });
    expect(entry.lastError).toMatch(/authentication|password|credentials/i);
    expect(entry.message).toBeUndefined();
    expect(list.text).not.toContain(Buffer.from('SECRET-ATTACHMENT').toString('base64'));
    expect(list.text).not.toContain('body text');
    expect(sink.received).toHaveLength(0);
  });

  it("only the account's users see its outbox, and nobody else can retry or discard its mails", async () => {
    const [entry] = (await t.agent(admin).get('mailOutbox:list', { accountId })).body.data;
    expect((await t.agent(stranger).get('mailOutbox:list', { accountId })).status).toBe(404);
    expect((await t.agent(stranger).get('mailOutbox:list')).body.data).toEqual([]);
    expect((await t.agent(stranger).post('mailOutbox:retry', {}, { filterByTk: entry.id })).status).toBe(404);
    expect((await t.agent(stranger).post('mailOutbox:discard', {}, { filterByTk: entry.id })).status).toBe(404);
    expect((await t.agent(assigned).get('mailOutbox:list', { accountId: otherAccountId })).status).toBe(404);
    // without an account: every usable account's entries
    const all = await t.agent(assigned).get('mailOutbox:list');
    expect(all.body.data.map((e: any) => String(e.accountId))).toEqual([accountId]);
    expect((await t.db.getModel('mailOutbox').findByPk(entry.id)).get('state')).toBe('failed');
  });

  it('sent again after the password is fixed: goes out once with its Message-ID and leaves the outbox', async () => {
    const [entry] = (await t.agent(assigned).get('mailOutbox:list', { accountId })).body.data;
    const fixed = await t.agent(admin).post('mailAccounts:update', { secrets: { password: SENDER.password } }, { filterByTk: accountId });
    expect(fixed.status).toBe(200);

    const retried = await t.agent(assigned).post('mailOutbox:retry', {}, { filterByTk: entry.id });
    expect(retried.status).toBe(200);
    expect(retried.body.data.state).toBe('sent');
    expect(sink.received).toHaveLength(1);
    expect(sink.received[0].raw.toString()).toContain(entry.messageId);
    expect(sink.received[0].raw.toString()).toContain('filename=offer.txt');

    const after = await t.agent(assigned).get('mailOutbox:list', { accountId });
    expect(after.body.data).toEqual([]);
    expect(after.body.meta).toMatchObject({ count: 0, failed: 0 });
    const sentRows = await t.db.getModel('mailMessages').count({ where: { accountId, messageId: entry.messageId } });
    expect(sentRows).toBe(1);

    const again = await t.agent(assigned).post('mailOutbox:retry', {}, { filterByTk: entry.id });
    expect(again.status).toBe(409);
    expect(sink.received).toHaveLength(1);
  });

  it('a mail that fails again stays failed with the new error; discarding removes it for good', async () => {
    const res = await send(assigned, 'to a rejected address', { to: [REJECTED] });
    expect(res.body.data.state).toBe('failed');
    const id = res.body.data.id;
    const retried = await t.agent(assigned).post('mailOutbox:retry', {}, { filterByTk: id });
    expect(retried.body.data).toMatchObject({ state: 'failed' });
    expect(retried.body.data.lastError).toMatch(/rejected/i);

    const discarded = await t.agent(assigned).post('mailOutbox:discard', {}, { filterByTk: id });
    expect(discarded.status).toBe(200);
    expect(await t.db.getModel('mailOutbox').findByPk(id)).toBeNull();
    expect((await t.agent(assigned).post('mailOutbox:discard', {}, { filterByTk: id })).status).toBe(404);
    expect((await t.agent(assigned).get('mailOutbox:list', { accountId })).body.data).toEqual([]);
  });

  it('a mail waiting for its next attempt shows why and can be discarded; once due it cannot', async () => {
    // nothing listens on this port: the server is unreachable, which is worth another attempt later
    const closed = await freePort();
    const res = await t.agent(admin).post('mailAccounts:create', {
      title: 'Unreachable',
      provider: 'smtp',
      address: SENDER.user,
      settings: { smtp: { host: '127.0.0.1', port: closed, security: 'none', user: SENDER.user } },
      secrets: { password: SENDER.password },
      userIds: [(await t.db.getRepository('users').findOne({ filter: { email: 'outbox-member@example.test' } })).get('id')],
    });
    const unreachableId = String(res.body.data.id);
    const sendTo = (subject: string) =>
      t.agent(assigned).post('mailMessages:send', { accountId: unreachableId, to: ['customer@example.test'], subject, text: 'x', source: 'ui' });
    expect((await sendTo('Reminder A')).body.data.state).toBe('queued');
    expect((await sendTo('Reminder B')).body.data.state).toBe('queued');

    const list = await t.agent(assigned).get('mailOutbox:list', { accountId: unreachableId });
    expect(list.body.meta).toMatchObject({ count: 2, failed: 0 });
    const [b, a] = list.body.data;
    for (const entry of [a, b]) {
      expect(entry).toMatchObject({ state: 'queued', attempts: 1, errorCode: 'HOST_UNREACHABLE' });
      expect(entry.lastError).toMatch(new RegExp(String(closed)));
      expect(new Date(entry.nextAttemptAt).getTime()).toBeGreaterThan(Date.now());
    }

    expect((await t.agent(stranger).post('mailOutbox:discard', {}, { filterByTk: a.id })).status).toBe(404);
    expect((await t.agent(assigned).post('mailOutbox:discard', {}, { filterByTk: a.id })).status).toBe(200);
    // B comes due: a drain may take it any moment now, so it is no longer the user's to drop
    await t.db.getModel('mailOutbox').update({ nextAttemptAt: new Date(Date.now() - 1000) }, { where: { id: b.id } });
    expect((await t.agent(assigned).post('mailOutbox:discard', {}, { filterByTk: b.id })).status).toBe(409);
    const left = (await t.agent(assigned).get('mailOutbox:list', { accountId: unreachableId })).body.data;
    expect(left.map((e: any) => e.subject)).toEqual(['Reminder B']);
  });

  it('a queued mail is listed but can be neither discarded nor retried: it may be on its way', async () => {
    const entry = await mail.outbox.enqueue({
      accountId,
      message: { from: { address: SENDER.user }, to: [{ address: 'later@example.test' }], subject: 'still queued', text: 'x' },
    });
    const id = String(entry.get('id'));
    const list = await t.agent(assigned).get('mailOutbox:list', { accountId });
    expect(list.body.data.map((e: any) => [e.subject, e.state])).toEqual([['still queued', 'queued']]);
    expect(list.body.meta).toMatchObject({ count: 1, failed: 0 });
    expect((await t.agent(assigned).post('mailOutbox:discard', {}, { filterByTk: id })).status).toBe(409);
    expect((await t.agent(assigned).post('mailOutbox:retry', {}, { filterByTk: id })).status).toBe(409);
    expect((await t.db.getModel('mailOutbox').findByPk(id)).get('state')).toBe('queued');
    await mail.outbox.drain();
    expect((await t.db.getModel('mailOutbox').findByPk(id)).get('state')).toBe('sent');
    expect((await t.agent(assigned).get('mailOutbox:list', { accountId })).body.data).toEqual([]);
  });
});
