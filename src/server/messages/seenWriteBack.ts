import { canReceive } from '../accounts/engineConfig';
import type { Application } from '@nocobase/server';
import type { MailService } from '../mailService';
import { mailErrorText } from '../mailErrorText';

export interface WriteBackResult {
  /** The mailbox on the server now says the same; false when it could not be told (see error). */
  writtenBack: boolean;
  error?: string;
}

// Read/unread set in the app goes to the mailbox too, so Outlook or the phone shows the same. A failure leaves the
// local state as the user set it and says why; the next sync brings whatever the server changes later.
export async function writeSeenBack(app: Application, mail: MailService, account: any, message: any, seen: boolean): Promise<WriteBackResult> {
  const providerId = String(message.get('providerId') ?? '');
  // a sent mail not yet met in the Sent folder has no id on the server
  if (!providerId || providerId.startsWith('outbox:') || !canReceive(account.get('provider'))) return { writtenBack: false };
  let source;
  try {
    source = await mail.engine.source(account);
    await source.setSeen(message.get('folder'), providerId, seen);
    return { writtenBack: true };
  } catch (err: any) {
    const error = mailErrorText(err);
    app.log.warn(`mail: marking message ${message.get('id')} ${seen ? 'read' : 'unread'} on the server failed: ${error}`);
    return { writtenBack: false, error };
  } finally {
    await source?.close().catch(() => undefined);
  }
}
