import { Plugin } from '@nocobase/server';
import { registerAccountActions } from './accounts/accountActions';
import { registerAclRules } from './accounts/aclRules';
import { registerMessageActions } from './messages/messageActions';
import { MailService } from './mailService';

export class PluginMailServer extends Plugin {
  mail!: MailService;

  async load() {
    this.mail = new MailService(this.app);
    registerAclRules(this.app);
    registerAccountActions(this.app, this.mail);
    registerMessageActions(this.app, this.mail);
    const background = process.env.MAILBRIDGE_BACKGROUND !== 'off';
    this.app.on('afterStart', () => this.mail.start({ background }));
    this.app.on('beforeStop', () => this.mail.stop());
  }
}

export default PluginMailServer;
