export { ImapSource } from './imapSource';
export { openImapConnection, imapFlowOptions, type ImapConnection, type ImapConnectionConfig } from './imapConnection';
export { listFolders, resolveFolder, specialUseOf } from './imapFolders';
export { syncImapFolder, DEFAULT_BATCH_SIZE, type ImapSyncOptions } from './imapSync';
export { fetchNewMessages, DEFAULT_MAX_TEXT_BYTES } from './imapFetchMessages';
export { serverRefusedFetch, type ImapClientHandle } from './imapFolderSession';
export { isUnchanged, isUsableCursor, initialCursor, knownMessageCount } from './imapCursor';
export { readFolderStatus, META_QUERY, type FolderStatus } from './imapCommands';
export { planBody, decodeTextPart, HEADER_FIELDS, type BodyPlan } from './imapParse';
