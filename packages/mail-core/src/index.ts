export * from './types';
export { MailError, isMailError, toMailError, redactSecrets, type MailErrorCode, type MailErrorContext, type MailErrorOptions } from './errors';
export { assertSafeHeaders, buildMime, composeOptions, envelopeOf, ensureMessageId, generateMessageId, normalizeMessageId, type BuiltMime, type BuildMimeOptions, type Envelope } from './mime';
export {
  createSource,
  createTransport,
  providerCapabilities,
  testConnection,
  type ConnectionStep,
  type ConnectionTestResult,
  type ProviderCapabilities,
  type ProviderKind,
} from './providers';
export type {
  AccountConfig,
  AuthConfig,
  ImapEndpoint,
  RuntimeOptions,
  Security,
  ServerEndpoint,
  SmtpEndpoint,
  SmtpImapAccountConfig,
  SmtpOnlyAccountConfig,
  Timeouts,
} from './providers/accountConfig';
export { SmtpTransport, type SmtpTransportConfig } from './providers/smtp';
export {
  ImapSource,
  openImapConnection,
  readFolderStatus,
  syncImapFolder,
  fetchNewMessages,
  planBody,
  decodeTextPart,
  META_QUERY,
  HEADER_FIELDS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_TEXT_BYTES,
  knownMessageCount,
  type ImapClientHandle,
  type ImapConnection,
  type ImapConnectionConfig,
  type ImapSyncOptions,
  type FolderStatus,
} from './providers/imap';
export { compactUidSet, expandUidSet, countUidSet } from './util/uidSet';
