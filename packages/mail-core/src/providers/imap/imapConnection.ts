import { ImapFlow, type ImapFlowOptions, type Logger } from 'imapflow';
import { isMailError, toMailError, type MailErrorContext } from '../../errors';
import { DEFAULT_TIMEOUTS, loginUser, secretsOf, type AuthConfig, type ImapEndpoint, type RuntimeOptions } from '../accountConfig';

export interface ImapConnectionConfig {
  address: string;
  imap: ImapEndpoint;
  auth: AuthConfig;
}

export interface ImapConnectionOptions {
  /** Keep IDLE on (for watching); the sync connection runs with it off. */
  idle?: boolean;
}

export function imapErrorContext(config: ImapConnectionConfig, extra: Partial<MailErrorContext> = {}): MailErrorContext {
  return {
    protocol: 'imap',
    host: config.imap.host,
    port: config.imap.port,
    security: config.imap.security,
    secrets: secretsOf(config.auth),
    ...extra,
  };
}

/** A logger that only passes on the command lines the client sends (imapflow masks credentials). */
function commandLogger(onCommand: (line: string) => void): Logger {
  const ignore = () => undefined;
  return {
    debug: (entry: { src?: string; msg?: string }) => {
      if (entry && entry.src === 'c' && typeof entry.msg === 'string') onCommand(entry.msg);
    },
    info: ignore,
    warn: ignore,
    error: ignore,
  };
}

export function imapFlowOptions(config: ImapConnectionConfig, runtime: RuntimeOptions, accessToken: string | undefined, opts: ImapConnectionOptions = {}): ImapFlowOptions {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...config.imap.timeouts };
  const user = loginUser(config.imap, config.address);
  const auth = config.auth.method === 'xoauth2' ? { user, accessToken: accessToken ?? config.auth.accessToken } : { user, pass: config.auth.password };
  return {
    host: config.imap.host,
    port: config.imap.port,
    secure: config.imap.security === 'ssl',
    doSTARTTLS: config.imap.security === 'starttls' ? true : config.imap.security === 'none' ? false : undefined,
    auth,
    tls: config.imap.allowInvalidCertificate ? { rejectUnauthorized: false } : undefined,
    logger: runtime.onImapCommand ? commandLogger(runtime.onImapCommand) : false,
    clientInfo: { name: 'Mailbridge' },
    qresync: true,
    disableAutoIdle: !opts.idle,
    maxIdleTime: opts.idle ? 5 * 60_000 : undefined,
    connectionTimeout: timeouts.connectMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
  };
}

/**
 * A connected, authenticated ImapFlow client. `lastError` keeps the socket error behind a later
 * "connection not available", so it can be reported as what it was.
 */
export interface ImapConnection {
  client: ImapFlow;
  lastError(): Error | undefined;
}

async function tokenFor(config: ImapConnectionConfig, runtime: RuntimeOptions, context: ReturnType<typeof imapErrorContext>, forceRefresh: boolean) {
  if (config.auth.method !== 'xoauth2' || !runtime.accessTokenProvider) return undefined;
  try {
    return await runtime.accessTokenProvider({ forceRefresh });
  } catch (err) {
    if (isMailError(err)) throw err;
    throw toMailError(Object.assign(err as Error, { code: 'EOAUTH2' }), context);
  }
}

async function connectWith(config: ImapConnectionConfig, runtime: RuntimeOptions, opts: ImapConnectionOptions, accessToken: string | undefined) {
  const client = new ImapFlow(imapFlowOptions(config, runtime, accessToken, opts));
  let lastError: Error | undefined;
  // without a listener an 'error' event would crash the process
  client.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw err;
  }
  return { client, lastError: () => lastError };
}

/**
 * Connects and logs in. An OAuth token the server refuses is renewed once (forceRefresh) before the login counts as
 * failed: a token revoked before it expired is found out at once, as the account's needs-reconnect error when the
 * sign-in itself is gone.
 */
export async function openImapConnection(config: ImapConnectionConfig, runtime: RuntimeOptions = {}, opts: ImapConnectionOptions = {}): Promise<ImapConnection> {
  const context = imapErrorContext(config, { operation: 'connect' });
  const accessToken = await tokenFor(config, runtime, context, false);
  try {
    return await connectWith(config, runtime, opts, accessToken);
  } catch (err) {
    const refused = toMailError(err, context);
    if (accessToken === undefined || refused.code !== 'AUTH_FAILED') throw refused;
    const renewed = await tokenFor(config, runtime, context, true);
    // the same token again would be refused again (and dovecot answers a failed login only after a delay)
    if (renewed === accessToken) throw refused;
    try {
      return await connectWith(config, runtime, opts, renewed);
    } catch (again) {
      throw toMailError(again, context);
    }
  }
}
