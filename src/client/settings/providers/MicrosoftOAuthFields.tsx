import React from 'react';
import { useMailTranslation } from '../../locale';
import { FormSection } from '../FormSection';
import { SecretInput } from '../SecretInput';
import { RedirectUri } from '../RedirectUri';
import { ScopeSummary } from '../ScopeSummary';
import { MicrosoftConnection } from '../MicrosoftConnection';
import { useAccountForm } from '../AccountFormContext';
import { outlookScopes } from '../providerCatalog';
import { TenantAndClient } from './Ms365AppFields';

/** The Entra ID app a user signs in through: tenant, client id, optional secret, the redirect URI to register. */
export function SignInAppFields() {
  const { t } = useMailTranslation();
  const { account } = useAccountForm();
  return (
    <>
      <TenantAndClient allowCommon />
      <SecretInput
        name="clientSecret"
        label={t('Client secret')}
        removable
        isSet={Boolean(account?.secretsSet?.clientSecret)}
        placeholder={t('Optional for public client apps')}
        extra={t('The secret value, not the secret ID.')}
      />
      <RedirectUri value={account?.settings?.redirectUri} />
    </>
  );
}

/** SMTP/IMAP signing in with Microsoft (XOAUTH2): the Entra ID app, its redirect URI and the IMAP/SMTP scopes. */
export function MicrosoftOAuthFields({ provider }: { provider: 'smtp-imap' | 'smtp' }) {
  return (
    <>
      <SignInAppFields />
      <div style={{ marginBottom: 24 }}>
        <ScopeSummary kind="delegated" scopes={outlookScopes(provider)} />
      </div>
    </>
  );
}

/** "Connect with Microsoft" for an SMTP/IMAP account that signs in with Microsoft. */
export function MicrosoftOAuthConnection({ provider }: { provider: 'smtp-imap' | 'smtp' }) {
  const { t } = useMailTranslation();
  const { account, connectMicrosoft, grantAdminConsent, reloadAccount, connecting, dirty } = useAccountForm();
  return (
    <FormSection title={t('Connection with Microsoft')} testId="section-microsoft">
      <MicrosoftConnection
        account={account}
        expected={outlookScopes(provider)}
        onConnect={connectMicrosoft}
        onAdminConsent={grantAdminConsent}
        onConnected={reloadAccount}
        allowPassword={false}
        connecting={connecting}
        dirty={dirty}
      />
    </FormSection>
  );
}
