import type { OutgoingDecorator } from '../sending/outbox';
import { collectionRule, readLinkingSettings } from './linkingSettings';
import { tokenValueOf } from './records';
import { agentPlusAddress, isTokenValue, subjectToken } from './tokens';

// A mail sent from a record carries what brings the answer back to it: the record's subject token (when the
// account uses subject tokens and the subject lacks it) and, when the account has an agent address, a Reply-To of
// the record's plus-address. An explicit Reply-To of the sender is kept.
export function recordTokenDecorator(db: any, log?: { warn(msg: string): void }): OutgoingDecorator {
  return async ({ accountId, message, link }) => {
    if (!link?.collection || link.recordId === undefined || link.recordId === null || link.recordId === '')
      return message;
    const account = await db.getModel('mailAccounts').findByPk(accountId, { attributes: ['id', 'settings'] });
    const settings = readLinkingSettings(account?.get('settings'));
    const rule = collectionRule(settings, link.collection);
    if (!rule || (!settings.subjectToken && !settings.agentAddress)) return message;
    const value = await tokenValueOf(db, rule, link.recordId);
    if (!isTokenValue(value)) {
      log?.warn(
        `mail linking: record ${link.collection}/${link.recordId} has no token value usable in an address or subject (${value ?? 'empty'})`,
      );
      return message;
    }
    const next = { ...message };
    const token = subjectToken(settings, rule, value);
    if (token && !(message.subject ?? '').includes(token)) next.subject = `${message.subject ?? ''} ${token}`.trim();
    if (settings.agentAddress && !message.replyTo?.length)
      next.replyTo = [{ address: agentPlusAddress(settings.agentAddress, rule, value) }];
    return next;
  };
}
