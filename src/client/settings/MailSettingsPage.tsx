import React from 'react';
import { Card, Typography } from 'antd';
import { useMailTranslation } from '../locale';
import { AccountsTable } from './AccountsTable';

export function MailSettingsPage() {
  const { t } = useMailTranslation();
  return (
    <Card bordered={false} data-testid="mail-settings">
      <Typography.Title level={4} style={{ marginTop: 0 }}>
        {t('Mail accounts')}
      </Typography.Title>
      <Typography.Paragraph type="secondary">
        {t('Connect the mailboxes this workspace sends and receives mail through.')}
      </Typography.Paragraph>
      <AccountsTable />
    </Card>
  );
}
