import { mailErrorText } from '../mailErrorText';

// What an account row says about its last failure: the text for people (message and what to do) and the
// MailError code, by which the settings page shows the failure in the user's language.
export function accountErrorValues(err: { code?: string; message?: string; hint?: string }) {
  return {
    lastError: mailErrorText(err),
    lastErrorCode: err.code ?? 'PROVIDER_ERROR',
  };
}

export const NO_ACCOUNT_ERROR = { lastError: null, lastErrorCode: null };
