import React from 'react';
import { tval } from '../locale';
import { MailHistoryView } from './MailHistoryView';
import { resolveRecordTarget } from './recordContext';

export function createMailHistoryBlockModel(BlockModel: any) {
  class MailHistoryBlockModel extends BlockModel {
    renderComponent() {
      const target = resolveRecordTarget(this);
      const props = (this as any).props ?? {};
      return <MailHistoryView target={target} pageSize={props.pageSize} />;
    }
  }

  MailHistoryBlockModel.define({
    label: tval('Mail history'),
    searchable: true,
    sort: 910,
  });

  MailHistoryBlockModel.registerFlow({
    key: 'mailHistorySettings',
    title: tval('Mail history settings'),
    on: 'beforeRender',
    steps: {
      record: {
        title: tval('Record'),
        uiSchema: {
          collection: {
            type: 'string',
            title: tval('Collection'),
            description: tval('Leave empty to use the record of the popup or page the block is in.'),
            'x-decorator': 'FormItem',
            'x-component': 'Input',
          },
          recordId: {
            type: 'string',
            title: tval('Record ID'),
            'x-decorator': 'FormItem',
            'x-component': 'Input',
          },
          pageSize: {
            type: 'number',
            title: tval('Conversations per page'),
            'x-decorator': 'FormItem',
            'x-component': 'Select',
            enum: [5, 10, 20, 50].map((value) => ({ label: String(value), value })),
          },
        },
        defaultParams: { collection: '', recordId: '', pageSize: 10 },
        handler(ctx: any, params: { collection?: string; recordId?: string; pageSize?: number }) {
          ctx.model.setProps({
            collection: (params.collection ?? '').trim(),
            recordId: String(params.recordId ?? '').trim(),
            pageSize: params.pageSize || 10,
          });
        },
      },
    },
  });

  return MailHistoryBlockModel;
}
