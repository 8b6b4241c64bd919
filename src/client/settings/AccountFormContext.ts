import { createContext, useContext } from 'react';
import type { FolderInfo, MailAccount, ProviderKey } from './types';

/** What the provider field groups need besides the form itself. */
export interface AccountFormContextValue {
  provider: ProviderKey;
  /** the saved account while editing; undefined while adding */
  account?: MailAccount;
  /** folders the last connection test found, offered in the Sync section */
  folders: FolderInfo[];
  connectMicrosoft(): void;
  grantAdminConsent(): void;
  /** re-reads the saved account (after a sign-in that changed it) */
  reloadAccount(): void;
  connecting: boolean;
  /** the form has changes that are not saved yet */
  dirty: boolean;
}

export const AccountFormContext = createContext<AccountFormContextValue | null>(null);

export function useAccountForm(): AccountFormContextValue {
  const value = useContext(AccountFormContext);
  if (!value) throw new Error('useAccountForm outside AccountFormContext');
  return value;
}
