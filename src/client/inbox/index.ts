import { createMailHistoryBlockModel } from '../history/models';
import { createInboxBlockModel, hostBlockModel } from './models';

/**
 * Registers the "Inbox" and "Mail history" blocks with the host's flow engine, so that they appear under
 * "Add block → Other blocks" of modern (FlowModel) pages and popups.
 */
export function registerInboxBlocks(plugin: unknown) {
  const p = plugin as any;
  const engine = p?.flowEngine ?? p?.app?.flowEngine;
  const BlockModel = hostBlockModel();
  if (!engine?.registerModels || !BlockModel) {
    // eslint-disable-next-line no-console
    console.warn('[@mailbridge/plugin-mail] this NocoBase has no FlowModel blocks; the inbox block is not available');
    return;
  }
  engine.registerModels({
    MailInboxBlockModel: createInboxBlockModel(BlockModel),
    MailHistoryBlockModel: createMailHistoryBlockModel(BlockModel),
  });
}
