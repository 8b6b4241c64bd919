import { createGraphAuth, type GraphTokenProvider } from './graphAuth';
import { GraphClient } from './graphClient';
import { assertGraphConfig, graphBaseOf, graphSecretsOf, type GraphRuntime, type Ms365Config } from './graphConfig';
import { agentFor } from './graphHttp';

/** What the transport, the source and the connection test share for one account. */
export interface GraphAccount {
  config: Ms365Config;
  auth: GraphTokenProvider;
  client: GraphClient;
  /** The account's mailbox: limiter key and error label. */
  mailbox: string;
  /** `/users/<mailbox>` (app-only) or `/me` (delegated). */
  basePath: string;
  /** The base path of another mailbox (a shared one), or the account's own. */
  pathFor(mailbox?: string): string;
}

export function openGraphAccount(config: Ms365Config, runtime: GraphRuntime = {}): GraphAccount {
  assertGraphConfig(config);
  const auth = runtime.tokenProvider ?? createGraphAuth(config, runtime);
  const mailbox = config.provider === 'ms365-app' ? config.mailbox.trim() : config.address.trim();
  const basePath = config.provider === 'ms365-app' ? `/users/${encodeURIComponent(mailbox)}` : '/me';
  const client = new GraphClient({
    graphBase: graphBaseOf(config),
    auth,
    mailbox,
    agent: agentFor(config.endpoints, runtime),
    runtime,
    secrets: graphSecretsOf(config),
  });
  const own = new Set([mailbox.toLowerCase(), config.address.trim().toLowerCase()]);
  return {
    config,
    auth,
    client,
    mailbox,
    basePath,
    pathFor: (other) => (!other || own.has(other.trim().toLowerCase()) ? basePath : `/users/${encodeURIComponent(other.trim())}`),
  };
}
