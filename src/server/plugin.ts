import { Plugin } from '@nocobase/server';
import { registerAccountActions } from './accounts/accountActions';
import { registerAclRules } from './accounts/aclRules';
import { registerMessageActions } from './messages/messageActions';
import { registerOutboxActions } from './sending/outboxActions';
import { registerLinking } from './linking';
import { registerOAuthActions } from './oauth/oauthActions';
import { registerAttachmentActions } from './attachments/attachmentActions';
import { MailService } from './mailService';
import { ensureIndexes } from './collections/ensureIndexes';
import { fillJsonArrayDefaults } from './collections/jsonArrayDefaults';
import { guardSqliteRebuilds } from './db/sqliteRebuildGuard';
import { waitForSqliteLocks } from './db/sqliteBusyTimeout';
import { SendMailInstruction, SEND_MAIL_NODE } from './workflow/sendMailInstruction';

const MAIL_COLLECTIONS = [
  'mailAccounts',
  'mailMessages',
  'mailThreads',
  'mailAttachments',
  'mailFiles',
  'mailSyncState',
  'mailOutbox',
  'mailLinks',
  'mailOAuthStates',
  'mailMessageRefs',
  'mailLinkCreations',
  'mailSenderActivity',
];

export class PluginMailServer extends Plugin {
  mail!: MailService;
  sendMailInstruction?: SendMailInstruction;

  async load() {
    this.mail = new MailService(this.app);
    fillJsonArrayDefaults(this.db);
    guardSqliteRebuilds(this.db);
    waitForSqliteLocks(this.db);
    registerAclRules(this.app);
    registerAccountActions(this.app, this.mail);
    registerMessageActions(this.app, this.mail);
    registerOutboxActions(this.app, this.mail);
    registerLinking(this.app, this.mail);
    registerOAuthActions(this.app, this.mail);
    registerAttachmentActions(this.app, this.mail);
    this.registerWorkflowNode();
    const background = process.env.MAILBRIDGE_BACKGROUND !== 'off';
    this.app.on('afterStart', async () => {
      await ensureIndexes(this.app, MAIL_COLLECTIONS);
      await this.mail.start({ background });
      await this.sendMailInstruction?.recoverPendingJobs();
    });
    this.app.on('beforeStop', () => this.mail.stop());
  }

  private registerWorkflowNode() {
    const workflow: any = this.app.pm.get('workflow');
    if (!workflow?.registerInstruction) return;
    this.sendMailInstruction = new SendMailInstruction(workflow, this.mail);
    workflow.registerInstruction(SEND_MAIL_NODE, this.sendMailInstruction);
  }
}

export default PluginMailServer;
