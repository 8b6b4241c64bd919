import { DEFAULT_SUBJECT_FORMAT, LinkCollectionRule, LinkingSettings } from './linkingSettings';

// Record tokens: `<prefix>-<value>` in the agent's plus-address (agent+cases-17@example.com) and, formatted, in the
// subject ([#17], or [#cases-17] when several collections are configured). prefix = shortName or collection name,
// value = the record's token field (default: its primary key).

const TOKEN_VALUE = /^[A-Za-z0-9][A-Za-z0-9._=-]{0,99}$/;

export interface ParsedToken {
  rule: LinkCollectionRule;
  value: string;
}

export function isTokenValue(value: unknown): value is string | number {
  return (typeof value === 'string' || typeof value === 'number') && TOKEN_VALUE.test(String(value));
}

export function splitAddress(address: string): { local: string; domain: string } {
  const lower = address.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  return at < 0 ? { local: lower, domain: '' } : { local: lower.slice(0, at), domain: lower.slice(at + 1) };
}

/** `agent+x@d` -> `agent@d`, lower-cased. */
export function baseAddress(address: string): string {
  const { local, domain } = splitAddress(address);
  const plus = local.indexOf('+');
  return `${plus >= 0 ? local.slice(0, plus) : local}@${domain}`;
}

/** The +detail of an address of the agent mailbox (case kept), or undefined for another address or none. */
export function agentDetail(address: string, agentAddress: string): string | undefined {
  if (baseAddress(address) !== baseAddress(agentAddress)) return undefined;
  const trimmed = address.trim();
  const at = trimmed.lastIndexOf('@');
  const plus = trimmed.indexOf('+');
  return plus >= 0 && plus < at ? trimmed.slice(plus + 1, at) : undefined;
}

export function prefixOf(rule: LinkCollectionRule): string {
  return rule.shortName ?? rule.name;
}

export function recordToken(rule: LinkCollectionRule, value: string | number): string {
  return `${prefixOf(rule)}-${value}`;
}

export function agentPlusAddress(agentAddress: string, rule: LinkCollectionRule, value: string | number): string {
  const { local, domain } = splitAddress(baseAddress(agentAddress));
  return `${local}+${recordToken(rule, value)}@${domain}`;
}

/** `<prefix>-<value>` -> the collection rule and the value; the longest matching prefix wins. */
export function parsePrefixedToken(settings: LinkingSettings, token: string): ParsedToken | undefined {
  const lower = token.toLowerCase();
  const candidates = [...settings.collections].sort((a, b) => prefixOf(b).length - prefixOf(a).length);
  for (const rule of candidates) {
    const prefix = prefixOf(rule).toLowerCase() + '-';
    if (lower.startsWith(prefix)) {
      const value = token.slice(prefix.length);
      if (isTokenValue(value)) return { rule, value };
    }
  }
  return undefined;
}

function subjectPrefixed(settings: LinkingSettings): boolean {
  return settings.collections.length > 1;
}

export function subjectToken(
  settings: LinkingSettings,
  rule: LinkCollectionRule,
  value: string | number,
): string | undefined {
  if (!settings.subjectToken) return undefined;
  const id = subjectPrefixed(settings) ? recordToken(rule, value) : String(value);
  return (settings.subjectToken.format ?? DEFAULT_SUBJECT_FORMAT).replace('{id}', id);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function subjectPattern(format: string): RegExp {
  const [before, after] = format.split('{id}');
  return new RegExp(
    `${escapeRegExp(before)}([A-Za-z0-9][A-Za-z0-9._=-]{0,99}?)${after ? escapeRegExp(after) : '(?![A-Za-z0-9._=-])'}`,
    'g',
  );
}

/** Every record token in a subject. */
export function parseSubjectTokens(settings: LinkingSettings, subject: string | null | undefined): ParsedToken[] {
  if (!settings.subjectToken || !subject || !settings.collections.length) return [];
  const found: ParsedToken[] = [];
  for (const match of subject.matchAll(subjectPattern(settings.subjectToken.format ?? DEFAULT_SUBJECT_FORMAT))) {
    const token = match[1];
    const parsed =
      parsePrefixedToken(settings, token) ??
      (settings.collections.length === 1 ? { rule: settings.collections[0], value: token } : undefined);
    if (parsed && !found.some((f) => f.rule === parsed.rule && f.value === parsed.value)) found.push(parsed);
  }
  return found;
}

export function stripSubjectTokens(settings: LinkingSettings, subject: string): string {
  if (!settings.subjectToken) return subject;
  return subject.replace(subjectPattern(settings.subjectToken.format ?? DEFAULT_SUBJECT_FORMAT), ' ');
}

const REPLY_PREFIX = /^\s*((re|aw|sv|vs|antw|ref|fw|fwd|wg|tr|rv)(\[\d+\])?\s*:\s*)+/i;

/** Subject without Re:/Fwd:/AW:/WG: prefixes. */
export function stripReplyPrefixes(subject: string): string {
  return subject.replace(REPLY_PREFIX, '').trim();
}

/** A subject reduced to what stays the same across a conversation: no prefixes, no tokens, spaces folded. */
export function normalizedSubject(settings: LinkingSettings, subject: string | null | undefined): string {
  return stripReplyPrefixes(stripSubjectTokens(settings, subject ?? ''))
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}
