import React from 'react';
import { useMailTranslation } from '../../locale';
import { FormSection } from '../FormSection';
import { ServerFields } from './ServerFields';
import { PasswordSection } from './SmtpImapFields';

/** SMTP only: the outgoing server and its password (or Microsoft sign-in). */
export function SmtpFields() {
  const { t } = useMailTranslation();
  return (
    <>
      <FormSection title={t('Outgoing server')} testId="section-outgoing">
        <ServerFields kind="smtp" />
      </FormSection>
      <PasswordSection provider="smtp" />
    </>
  );
}
