import { Plugin } from '@nocobase/client';
import { MailSettingsPage } from './settings/MailSettingsPage';
import { NAMESPACE } from './locale';

export class PluginMailClient extends Plugin {
  async load() {
    this.app.pluginSettingsManager.add('mail', {
      title: this.t('E-Mail', { ns: NAMESPACE }),
      icon: 'MailOutlined',
      Component: MailSettingsPage,
      aclSnippet: 'pm.mail',
    });
  }
}

export default PluginMailClient;
