import React from 'react';
import * as NocoClient from '@nocobase/client';
import { tval } from '../locale';
import { InboxView } from './InboxView';

// FlowModel blocks (NocoBase 2.x "modern" pages). BlockModel comes from the host's @nocobase/client at run time;
// it is read lazily so that a host without it still loads the rest of the plugin (the settings page).
export type BlockModelClass = any;

export function hostBlockModel(): BlockModelClass | undefined {
  return (NocoClient as any).BlockModel;
}

export const PAGE_SIZES = [10, 20, 50, 100];

export function createInboxBlockModel(BlockModel: BlockModelClass) {
  class MailInboxBlockModel extends BlockModel {
    renderComponent() {
      const props = (this as any).props ?? {};
      return <InboxView pageSize={props.pageSize} height={props.height} />;
    }
  }

  MailInboxBlockModel.define({
    label: tval('Inbox'),
    searchable: true,
    sort: 900,
  });

  MailInboxBlockModel.registerFlow({
    key: 'mailInboxSettings',
    title: tval('Inbox settings'),
    on: 'beforeRender',
    steps: {
      layout: {
        title: tval('Size'),
        uiSchema: {
          pageSize: {
            type: 'number',
            title: tval('Mails per page'),
            'x-decorator': 'FormItem',
            'x-component': 'Select',
            enum: PAGE_SIZES.map((value) => ({ label: String(value), value })),
          },
          height: {
            type: 'number',
            title: tval('Height (px)'),
            'x-decorator': 'FormItem',
            'x-component': 'InputNumber',
            'x-component-props': { min: 360, max: 2000, step: 20 },
          },
        },
        defaultParams: { pageSize: 20, height: 680 },
        handler(ctx: any, params: { pageSize?: number; height?: number }) {
          ctx.model.setProps({ pageSize: params.pageSize || 20, height: params.height || 680 });
        },
      },
    },
  });

  return MailInboxBlockModel;
}
