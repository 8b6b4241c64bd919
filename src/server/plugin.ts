import { Plugin } from '@nocobase/server';
import { registerAccountActions } from './accounts/accountActions';
import { registerMessageActions } from './messages/messageActions';
import { MailService } from './mailService';

export const MAIL_SETTINGS_SNIPPET = 'pm.mail';

export class PluginMailServer extends Plugin {
  mail!: MailService;

  async load() {
    this.mail = new MailService(this.app);
    this.app.acl.registerSnippet({ name: MAIL_SETTINGS_SNIPPET, actions: ['mailAccounts:*'] });
    this.app.acl.allow('mailMessages', ['list', 'get', 'send'], 'loggedIn');
    this.app.acl.allow('mailOutbox', ['retry'], 'loggedIn');
    registerAccountActions(this.app, this.mail);
    registerMessageActions(this.app, this.mail);
    const background = process.env.MAILBRIDGE_BACKGROUND !== 'off';
    this.app.on('afterStart', () => this.mail.start({ background }));
    this.app.on('beforeStop', () => this.mail.stop());
  }
}

export default PluginMailServer;
