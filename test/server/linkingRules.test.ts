import { readLinkingSettings } from '../../src/server/linking/linkingSettings';
import {
  agentDetail,
  agentPlusAddress,
  baseAddress,
  normalizedSubject,
  parsePrefixedToken,
  parseSubjectTokens,
  subjectToken,
} from '../../src/server/linking/tokens';
import { inlineForwardSender, rfc822Sender } from '../../src/server/linking/forwarded';
import { headerLoopReason } from '../../src/server/linking/loopProtection';
import { ancestryOf } from '../../src/server/linking/threadJoin';
import { matchesConfig } from '../../src/server/workflow/mailReceivedTrigger';

// The pure parts of linking: settings, tokens, forwards, loop headers, trigger filters.
describe('linking rules', () => {
  const one = readLinkingSettings({
    linking: { collections: [{ name: 'cases' }], agentAddress: 'Agent@Example.test', subjectToken: {} },
  });
  const two = readLinkingSettings({
    linking: {
      collections: [{ name: 'cases', shortName: 'C' }, { name: 'contacts' }, { name: 'cases2' }],
      agentAddress: 'agent@example.test',
      subjectToken: { format: 'Ticket#{id}:' },
    },
  });

  it('reads settings leniently with defaults', () => {
    expect(readLinkingSettings({})).toMatchObject({
      collections: [],
      fuzzyThreadWindowDays: 0,
      importHistory: false,
      maxPerSenderPerHour: 20,
    });
    expect(one.agentAddress).toBe('agent@example.test');
    expect(one.subjectToken).toEqual({ format: '[#{id}]' });
    expect(
      readLinkingSettings({
        linking: { subjectToken: { format: 'no placeholder' }, collections: [{}, { name: ' x ' }] },
      }),
    ).toMatchObject({
      subjectToken: undefined,
      collections: [{ name: 'x' }],
    });
  });

  it('formats and parses plus-address tokens', () => {
    expect(agentPlusAddress(one.agentAddress!, one.collections[0], 17)).toBe('agent+cases-17@example.test');
    expect(agentPlusAddress(two.agentAddress!, two.collections[0], 'V-2024-9')).toBe('agent+C-V-2024-9@example.test');
    expect(agentDetail('Agent+cases-17@EXAMPLE.test', 'agent@example.test')).toBe('cases-17');
    expect(agentDetail('agent@example.test', 'agent@example.test')).toBeUndefined();
    expect(agentDetail('other+cases-17@example.test', 'agent@example.test')).toBeUndefined();
    expect(parsePrefixedToken(two, 'c-V-2024-9')).toMatchObject({ rule: { name: 'cases' }, value: 'V-2024-9' });
    expect(parsePrefixedToken(two, 'cases2-5')).toMatchObject({ rule: { name: 'cases2' }, value: '5' });
    expect(parsePrefixedToken(two, 'unknown-5')).toBeUndefined();
    expect(baseAddress('A+b@X.test')).toBe('a@x.test');
  });

  it('formats and parses subject tokens, prefixed when several collections are configured', () => {
    expect(subjectToken(one, one.collections[0], 5)).toBe('[#5]');
    expect(subjectToken(two, two.collections[0], 5)).toBe('Ticket#C-5:');
    expect(parseSubjectTokens(one, 'Re: Heizung [#5] und [#cases-6] [#5]').map((t) => t.value)).toEqual(['5', '6']);
    expect(parseSubjectTokens(two, 'AW: Ticket#C-5: Frage Ticket#x-1:').map((t) => [t.rule.name, t.value])).toEqual([
      ['cases', '5'],
    ]);
    expect(parseSubjectTokens(one, 'Preis [#]')).toEqual([]);
    expect(normalizedSubject(one, 'AW: Re:  Projekt   Alpha [#5]')).toBe('projekt alpha');
  });

  it('finds the original sender of inline forwards and attached messages', () => {
    const gmail =
      'FYI\n\n---------- Forwarded message ---------\nFrom: Karl Kunde <karl@kunde.test>\nDate: Mon\nSubject: x\n';
    expect(inlineForwardSender(gmail, 'Fwd: x')).toEqual({ address: 'karl@kunde.test', name: 'Karl Kunde' });
    const outlook =
      'Bitte ansehen\n\n-----Original Message-----\nFrom: Karl Kunde [mailto:Karl@Kunde.test]\nSent: Monday\n';
    expect(inlineForwardSender(outlook, 'WG: Angebot')).toEqual({ address: 'karl@kunde.test', name: 'Karl Kunde' });
    // the same block under a reply is a quote, not a forward
    expect(inlineForwardSender(outlook, 'AW: Angebot')).toBeUndefined();
    expect(inlineForwardSender('Von: x@y.test', 'Fwd: x')).toBeUndefined();
    expect(rfc822Sender('Subject: x\r\nFrom: =?UTF-8?B?T2xnYSBOZXU=?=\r\n <olga@kunde.test>\r\n\r\nBody')).toEqual({
      address: 'olga@kunde.test',
      name: 'Olga Neu',
    });
  });

  it('recognises machine mail', () => {
    expect(headerLoopReason({ autoSubmitted: 'auto-replied' }, 'a@b.test')).toBe('auto-submitted');
    expect(headerLoopReason({ autoSubmitted: 'no' }, 'a@b.test')).toBeUndefined();
    expect(headerLoopReason({ precedence: 'Bulk' }, 'a@b.test')).toBe('precedence');
    expect(headerLoopReason({ precedence: 'first-class' }, 'a@b.test')).toBeUndefined();
    expect(headerLoopReason({ listId: '<x.y>' }, 'a@b.test')).toBe('list');
    expect(headerLoopReason({ xAutoResponseSuppress: 'All' }, 'a@b.test')).toBe('auto-response-suppress');
    expect(headerLoopReason({}, 'MAILER-DAEMON@b.test')).toBe('bounce');
    expect(headerLoopReason({}, 'a@b.test')).toBeUndefined();
  });

  it('keeps long reference chains bounded', () => {
    const references = Array.from({ length: 100 }, (_, i) => `<r${i}@x>`);
    const ids = ancestryOf({ messageId: '<me@x>', inReplyTo: '<r99@x>', references });
    expect(ids).toHaveLength(40);
    expect(ids).toContain('<r0@x>');
    expect(ids).toContain('<r99@x>');
  });

  it('filters trigger events by account, folder, sender, subject and linked collection', () => {
    const event = {
      accountId: '7',
      folder: 'INBOX',
      fromAddress: 'vip@x.test',
      fromName: 'Very Important',
      subject: 'Rechnung 12',
      linkedCollections: ['cases'],
      messageKey: 'k',
    };
    expect(matchesConfig({}, event)).toBe(true);
    expect(matchesConfig({ accountId: 7 }, event)).toBe(true);
    expect(matchesConfig({ accountId: ['1', '2'] }, event)).toBe(false);
    expect(matchesConfig({ folder: 'Archive' }, event)).toBe(false);
    expect(matchesConfig({ fromContains: 'important' }, event)).toBe(true);
    expect(matchesConfig({ subjectContains: 'RECHNUNG' }, event)).toBe(true);
    expect(matchesConfig({ linkedCollection: 'contacts' }, event)).toBe(false);
  });
});
