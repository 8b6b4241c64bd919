import type { Application } from '@nocobase/server';
import type { MailService } from '../mailService';
import { MailReceivedTrigger, MAIL_RECEIVED_TRIGGER } from '../workflow/mailReceivedTrigger';
import { defineLinkingCollections } from './linkingCollections';
import { registerLinkingAcl } from './linkingAcl';
import { registerLinkActions } from './linkActions';
import { LinkingService } from './linkingService';
import { recordTokenDecorator } from './outgoingLink';

export { LINKING_USER_ACTIONS } from './linkingAcl';
export type { LinkingSettings, LinkCollectionRule, CreateByForwardRule } from './linkingSettings';

// Mail belongs to records: thread joining, link rules, creation by forwarding, the outgoing token and the
// "E-Mail received" trigger. Everything hangs off the stored-message events and the outbox decorators.
export function registerLinking(app: Application, mail: MailService): LinkingService {
  const db: any = app.db;
  defineLinkingCollections(db);
  registerLinkingAcl(app);
  registerLinkActions(app);
  const service = new LinkingService(app, mail, registerTrigger(app));
  mail.events.onMessagesStored((event) => service.handle(event));
  mail.outbox.decorate(recordTokenDecorator(db, app.log));
  // An account's removal takes its links and bookkeeping along (its messages and threads go in mailService).
  db.on('mailAccounts.afterDestroy', async (model: any, options: any) => {
    const accountId = model.get('id');
    for (const name of ['mailLinks', 'mailMessageRefs', 'mailSenderActivity']) {
      await db.getModel(name).destroy({ where: { accountId }, transaction: options?.transaction });
    }
  });
  return service;
}

function registerTrigger(app: Application): MailReceivedTrigger | undefined {
  let workflow: any;
  try {
    workflow = app.pm.get('workflow');
  } catch {
    return undefined;
  }
  if (!workflow?.registerTrigger) return undefined;
  const trigger = new MailReceivedTrigger(workflow);
  workflow.registerTrigger(MAIL_RECEIVED_TRIGGER, trigger);
  return trigger;
}
