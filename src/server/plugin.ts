import { Plugin } from '@nocobase/server';
import { registerAccountActions } from './accounts/accountActions';

export const MAIL_SETTINGS_SNIPPET = 'pm.mail';

export class PluginMailServer extends Plugin {
  async load() {
    this.app.acl.registerSnippet({ name: MAIL_SETTINGS_SNIPPET, actions: ['mailAccounts:*'] });
    registerAccountActions(this.app);
  }
}

export default PluginMailServer;
