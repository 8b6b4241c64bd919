import { MailError } from '../../errors';

/** An Amazon SES account: an IAM access key allowed to send from a verified identity in one region. */
export interface SesAccountConfig {
  provider: 'ses';
  /** The sending address; it or its domain must be a verified identity in `region`. */
  address: string;
  /** e.g. 'eu-central-1'. */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Event publishing (bounces, complaints, deliveries) goes through this configuration set. */
  configurationSetName?: string;
  /** Another API endpoint than the region's, e.g. a local fake in tests (`http://127.0.0.1:4566`). */
  endpoint?: string;
  /** Recipients (To + Cc + Bcc) per SendEmail call; 1–50, default 50 (SES's limit per message). */
  maxRecipientsPerMessage?: number;
}

/** SES refuses a message with more than 50 recipients (To, Cc and Bcc together). */
export const SES_MAX_RECIPIENTS_PER_MESSAGE = 50;

const AWS_REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

function invalid(what: string): never {
  throw new MailError('PROVIDER_ERROR', `Invalid Amazon SES account configuration: ${what}.`, {
    retryable: false,
    hint: `Complete the account settings: ${what}.`,
  });
}

export function assertSesConfig(config: SesAccountConfig | undefined): asserts config is SesAccountConfig {
  if (!config || config.provider !== 'ses') invalid('the account is not an Amazon SES account');
  if (typeof config.address !== 'string' || !/^[^\s@<>]+@[^\s@<>]+$/.test(config.address.trim())) invalid('the sender address is missing or invalid');
  if (typeof config.region !== 'string' || !AWS_REGION.test(config.region.trim())) invalid('the AWS region must look like "eu-central-1"');
  if (typeof config.accessKeyId !== 'string' || !config.accessKeyId.trim()) invalid('the access key ID is missing');
  if (typeof config.secretAccessKey !== 'string' || !config.secretAccessKey) invalid('the secret access key is missing');
  if (config.endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(config.endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) invalid('the endpoint must be an http(s) URL');
  }
  const max = config.maxRecipientsPerMessage;
  if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > SES_MAX_RECIPIENTS_PER_MESSAGE)) {
    invalid(`recipients per message must be 1–${SES_MAX_RECIPIENTS_PER_MESSAGE}`);
  }
}

/**
 * The domain of the Message-ID SES gives every message it accepts: `email.amazonses.com` in us-east-1
 * (the original SES region kept its old name), `<region>.amazonses.com` everywhere else, e.g.
 * `<0107018f…-000000@eu-central-1.amazonses.com>`.
 */
export function sesMessageIdDomain(region: string): string {
  const r = region.trim().toLowerCase();
  return r === 'us-east-1' ? 'email.amazonses.com' : `${r}.amazonses.com`;
}

/** SES's `MessageId` ("0102018f…-000000") as the Message-ID header recipients see. */
export function sesHeaderMessageId(sesMessageId: string, region: string): string {
  const id = sesMessageId.trim();
  if (id.includes('@')) return id.startsWith('<') ? id : `<${id}>`;
  return `<${id}@${sesMessageIdDomain(region)}>`;
}

/** The host the SDK talks to, for error messages. */
export function sesEndpointHost(config: Pick<SesAccountConfig, 'region' | 'endpoint'>): string {
  if (config.endpoint) {
    try {
      return new URL(config.endpoint).host;
    } catch {
      return config.endpoint;
    }
  }
  return `email.${config.region}.amazonaws.com`;
}
