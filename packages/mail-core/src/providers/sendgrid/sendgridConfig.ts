import { MailError } from '../../errors';

/** A SendGrid account: an API key with the Mail Send permission and a verified sender. */
export interface SendGridAccountConfig {
  provider: 'sendgrid';
  /** The sending address; a verified Sender Identity (single sender or authenticated domain) in SendGrid. */
  address: string;
  apiKey: string;
  /** Default https://api.sendgrid.com; https://api.eu.sendgrid.com for EU subusers; a local fake in tests. */
  baseUrl?: string;
  /** Added to every message (SendGrid statistics); at most 10, each at most 255 characters. */
  categories?: string[];
}

export const SENDGRID_BASE_URL = 'https://api.sendgrid.com';
/** SendGrid counts To + Cc + Bcc of all personalizations of one request: at most 1000. */
export const SENDGRID_MAX_RECIPIENTS_PER_REQUEST = 1000;
export const SENDGRID_MAX_CATEGORIES = 10;

function invalid(what: string): never {
  throw new MailError('PROVIDER_ERROR', `Invalid SendGrid account configuration: ${what}.`, {
    retryable: false,
    hint: `Complete the account settings: ${what}.`,
  });
}

export function assertSendGridConfig(config: SendGridAccountConfig | undefined): asserts config is SendGridAccountConfig {
  if (!config || config.provider !== 'sendgrid') invalid('the account is not a SendGrid account');
  if (typeof config.address !== 'string' || !/^[^\s@<>]+@[^\s@<>]+$/.test(config.address.trim())) invalid('the sender address is missing or invalid');
  if (typeof config.apiKey !== 'string' || !config.apiKey.trim()) invalid('the API key is missing');
  if (/[\r\n\s]/.test(config.apiKey.trim())) invalid('the API key contains spaces or line breaks');
  if (config.baseUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(config.baseUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) invalid('the API base URL must be an http(s) URL');
  }
  const categories = config.categories ?? [];
  if (!Array.isArray(categories)) invalid('categories must be a list');
  if (categories.length > SENDGRID_MAX_CATEGORIES) invalid(`at most ${SENDGRID_MAX_CATEGORIES} categories`);
  for (const c of categories) {
    if (typeof c !== 'string' || !c.trim() || c.length > 255 || /[\r\n]/.test(c)) invalid('each category must be 1–255 characters without line breaks');
  }
  if (new Set(categories).size !== categories.length) invalid('categories must not repeat');
}

export function sendGridBaseUrl(config: Pick<SendGridAccountConfig, 'baseUrl'>): string {
  return (config.baseUrl ?? SENDGRID_BASE_URL).replace(/\/+$/, '');
}
