/**
 * Microsoft 365 over Microsoft Graph: app-only (client credentials) and delegated (authorization
 * code + PKCE, refresh tokens, opt-in ROPC) accounts.
 */
import type { MailSource, MailTransport } from '../../types';
import type { GraphRuntime, Ms365Config } from './graphConfig';
import { GraphSource } from './graphSource';
import { GraphTransport } from './graphTransport';

export function createGraphTransport(config: Ms365Config, runtime: GraphRuntime = {}): MailTransport {
  return new GraphTransport(config, runtime);
}

export function createGraphSource(config: Ms365Config, runtime: GraphRuntime = {}): MailSource {
  return new GraphSource(config, runtime);
}

export { GraphTransport, LARGE_ATTACHMENT_BYTES, MAX_REQUEST_BYTES, UPLOAD_CHUNK_BYTES } from './graphTransport';
export { GraphSource, WELL_KNOWN_FOLDERS, DEFAULT_PAGE_SIZE, type GraphSyncOptions } from './graphSource';
export { testGraphConnection, NEEDED_PERMISSIONS, type GraphConnectionResult, type GraphConnectionStep } from './graphConnection';
export {
  AppAuth,
  DelegatedAuth,
  createGraphAuth,
  adminConsentUrl,
  tokenCachePlugin,
  permissionsOfToken,
  type GraphTokenProvider,
  type AuthorizeUrlRequest,
  type AuthorizeUrl,
  type DelegatedAccount,
  type DelegatedToken,
} from './graphAuth';
export {
  assertGraphConfig,
  isGraphCursor,
  DEFAULT_AUTHORITY_HOST,
  DEFAULT_GRAPH_BASE_URL,
  DEFAULT_DELEGATED_SCOPES,
  type Ms365AppConfig,
  type Ms365AppAuth,
  type Ms365DelegatedConfig,
  type Ms365Config,
  type GraphEndpoints,
  type GraphRuntime,
  type GraphRetryPolicy,
  type GraphTokenCacheStore,
  type GraphFolderCursor,
} from './graphConfig';
export { needsReconnect, RECONNECT_HINT, type GraphMailError } from './graphErrors';
export { GraphClient, type GraphCall, type GraphResponse } from './graphClient';
export { syncedMessageOf, DELTA_SELECT, type GraphSyncedMessage, type GraphMessage } from './graphMessages';
