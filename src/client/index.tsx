import { Plugin } from '@nocobase/client';
import { MailSettingsPage } from './settings/MailSettingsPage';
import { NAMESPACE } from './locale';
import { registerInboxBlocks } from './inbox';
import { registerWorkflowNodes } from './workflow';

export class PluginMailClient extends Plugin {
  async load() {
    this.app.pluginSettingsManager.add('mail', {
      title: this.t('E-Mail', { ns: NAMESPACE }),
      icon: 'MailOutlined',
      Component: MailSettingsPage,
      aclSnippet: 'pm.mail',
    });
    registerInboxBlocks(this);
    registerWorkflowNodes(this.app);
  }
}

export default PluginMailClient;
