import React, { useCallback, useEffect, useState } from 'react';
import { Button, Modal, Typography } from 'antd';
import { useAPIClient } from '@nocobase/client';
import { useMailTranslation } from '../locale';
import { errorText, testAccount } from './api';
import { TestConnectionResult } from './TestConnectionResult';
import type { MailAccount, TestResult } from './types';

/** "Test" in the accounts list: tests the stored account and shows each step. */
export function TestAccountModal({ account, onClose }: { account: MailAccount | null; onClose(): void }) {
  const { t } = useMailTranslation();
  const api = useAPIClient();
  const [state, setState] = useState<{ loading?: boolean; result?: TestResult; error?: string }>({});

  const run = useCallback(async () => {
    if (!account) return;
    setState({ loading: true });
    try {
      setState({ result: await testAccount(api, account.id) });
    } catch (e) {
      setState({ error: errorText(e) });
    }
  }, [account, api]);

  useEffect(() => {
    run();
  }, [run]);

  return (
    <Modal
      open={Boolean(account)}
      onCancel={onClose}
      title={t('Test connection')}
      destroyOnClose
      width={560}
      footer={[
        <Button key="again" onClick={run} disabled={state.loading}>
          {t('Test again')}
        </Button>,
        <Button key="close" type="primary" onClick={onClose}>
          {t('Close')}
        </Button>,
      ]}
    >
      {account && (
        <Typography.Paragraph type="secondary">
          {account.title} · {account.address}
        </Typography.Paragraph>
      )}
      <TestConnectionResult loading={state.loading} result={state.result} error={state.error} />
    </Modal>
  );
}
