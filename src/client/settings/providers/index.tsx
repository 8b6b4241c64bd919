import React from 'react';
import type { ProviderKey } from '../types';
import { Ms365AppFields } from './Ms365AppFields';
import { Ms365DelegatedFields } from './Ms365DelegatedFields';
import { SendgridFields } from './SendgridFields';
import { SesFields } from './SesFields';
import { SmtpFields } from './SmtpFields';
import { SmtpImapFields } from './SmtpImapFields';

const FIELDS: Record<ProviderKey, React.ComponentType> = {
  'ms365-delegated': Ms365DelegatedFields,
  'ms365-app': Ms365AppFields,
  'smtp-imap': SmtpImapFields,
  smtp: SmtpFields,
  ses: SesFields,
  sendgrid: SendgridFields,
};

/** The provider's own groups (servers, sign-in) between "Account" and "Who may use it". */
export function ProviderFields({ provider }: { provider: ProviderKey }) {
  const Fields = FIELDS[provider];
  return Fields ? <Fields /> : null;
}
