import type { Application } from '@nocobase/server';
import { allowSignedInUsers } from '../accounts/aclRules';

// Signed-in users reach these actions; the handlers check account assignment (accounts/accountAccess.ts) and the
// user's right to view the record's collection themselves.
export const LINKING_USER_ACTIONS: Record<string, string[]> = {
  mailLinks: ['list', 'create', 'destroy'],
};

export function registerLinkingAcl(app: Application) {
  allowSignedInUsers(app, LINKING_USER_ACTIONS, 'mail-linking-actions');
}
