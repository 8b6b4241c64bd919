/**
 * The checks SendGrid's v3 mail/send makes on its JSON body, with its field paths and (where
 * documented) its messages. Each violation is one entry of the 400 answer's `errors`.
 */

export interface SendGridError {
  message: string;
  field: string | null;
  help: string | null;
}

export const SENDGRID_RESERVED_HEADERS = [
  'x-sg-id',
  'x-sg-eid',
  'received',
  'dkim-signature',
  'Content-Type',
  'Content-Transfer-Encoding',
  'To',
  'From',
  'Subject',
  'Reply-To',
  'CC',
  'BCC',
];
const RESERVED = new Set(SENDGRID_RESERVED_HEADERS.map((h) => h.toLowerCase()));

export interface SchemaLimits {
  maxPersonalizations: number;
  maxRecipients: number;
  maxCategories: number;
  maxCustomArgsBytes: number;
}

export const DEFAULT_LIMITS: SchemaLimits = { maxPersonalizations: 1000, maxRecipients: 1000, maxCategories: 10, maxCustomArgsBytes: 10_000 };

const EMAIL = /^[^\s@<>",;()[\]\\]+@[^\s@<>",;()[\]\\]+\.[^\s@<>",;()[\]\\]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ASCII = /^[\x20-\x7e\t]*$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
const helpFor = (anchor: string) => `http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.${anchor}`;

export function validateMailSend(body: unknown, limits: SchemaLimits = DEFAULT_LIMITS): SendGridError[] {
  const errors: SendGridError[] = [];
  const err = (field: string | null, message: string, anchor = field ?? 'body') =>
    errors.push({ message, field, help: helpFor(anchor.replace(/\.\d+/g, '')) });

  if (!isObject(body)) {
    err(null, 'Bad Request');
    return errors;
  }

  // personalizations
  const ps = body.personalizations;
  let everyPersonalizationHasSubject = false;
  if (!Array.isArray(ps) || ps.length === 0) {
    err('personalizations', 'The personalizations field is required and must have at least one personalization.');
  } else {
    if (ps.length > limits.maxPersonalizations) {
      err(
        'personalizations',
        `The personalization block is limited to ${limits.maxPersonalizations} personalizations per API request. You have provided ${ps.length} personalizations. Please consider splitting this into multiple requests and resending your request.`,
      );
    }
    let total = 0;
    const acrossRequest = new Set<string>();
    everyPersonalizationHasSubject = true;
    ps.forEach((p, i) => {
      const at = `personalizations.${i}`;
      if (!isObject(p)) {
        err(at, 'Each personalization must be an object.');
        everyPersonalizationHasSubject = false;
        return;
      }
      if (typeof p.subject !== 'string' || p.subject.length === 0) everyPersonalizationHasSubject = false;
      const seen = new Map<string, string>();
      let duplicateReported = false;
      for (const role of ['to', 'cc', 'bcc'] as const) {
        const list = p[role];
        if (list === undefined) {
          if (role === 'to') err(`${at}.to`, 'The to array is required for all personalization objects, and must have at least one email object with a valid email address.');
          continue;
        }
        if (!Array.isArray(list) || list.length === 0) {
          err(
            `${at}.${role}`,
            role === 'to'
              ? 'The to array is required for all personalization objects, and must have at least one email object with a valid email address.'
              : `The ${role} array, when used, must at least have an email parameter with a valid email address and it may also contain a name parameter. e.g. {"email" : "example@example.com"} or {"email" : "example@example.com", "name" : "Example Recipient"}.`,
          );
          continue;
        }
        list.forEach((entry, j) => {
          if (!isObject(entry) || typeof entry.email !== 'string' || !EMAIL.test(entry.email)) {
            err(`${at}.${role}.${j}.email`, 'Does not contain a valid address.');
            return;
          }
          if (entry.name !== undefined && typeof entry.name !== 'string') err(`${at}.${role}.${j}.name`, 'The name must be a string.');
          total++;
          const key = entry.email.toLowerCase();
          if (seen.has(key) && !duplicateReported) {
            duplicateReported = true;
            err(
              at,
              `Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [${entry.email}] in the ${at}.${role} field.`,
            );
          }
          seen.set(key, entry.email);
        });
      }
      for (const [key, email] of seen) {
        if (acrossRequest.has(key)) {
          err('personalizations', `Each unique email address in the personalizations array should only be included once. You have included [${email}] more than once.`);
        }
        acrossRequest.add(key);
      }
      checkHeaders(p.headers, `${at}.headers`, err);
      if (p.custom_args !== undefined) checkCustomArgs(p.custom_args, `${at}.custom_args`, limits, err);
    });
    if (total > limits.maxRecipients) {
      err('personalizations', `There is a limit of ${limits.maxRecipients} total recipients (to + cc + bcc) per request.`);
    }
  }

  // from, reply_to
  if (!isObject(body.from)) {
    err(
      'from',
      'The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.  e.g. {"email" : "example@example.com"}  or {"email" : "example@example.com", "name" : "Example Recipient"}.',
    );
  } else if (typeof body.from.email !== 'string' || !EMAIL.test(body.from.email)) {
    err('from.email', 'The from email does not contain a valid address.');
  }
  if (body.reply_to !== undefined && body.reply_to_list !== undefined) {
    err('reply_to_list', 'The reply_to and reply_to_list fields are mutually exclusive; use only one of them.');
  }
  if (body.reply_to !== undefined && (!isObject(body.reply_to) || typeof body.reply_to.email !== 'string' || !EMAIL.test(body.reply_to.email))) {
    err('reply_to.email', 'The reply_to email does not contain a valid address.');
  }
  if (body.reply_to_list !== undefined) {
    if (!Array.isArray(body.reply_to_list) || body.reply_to_list.length === 0 || body.reply_to_list.length > 1000) {
      err('reply_to_list', 'The reply_to_list must be an array of 1 to 1000 email objects.');
    } else {
      body.reply_to_list.forEach((r, i) => {
        if (!isObject(r) || typeof r.email !== 'string' || !EMAIL.test(r.email)) err(`reply_to_list.${i}.email`, 'Does not contain a valid address.');
      });
    }
  }

  // subject
  const hasSubject = typeof body.subject === 'string' && body.subject.length > 0;
  if (!hasSubject && !everyPersonalizationHasSubject && body.template_id === undefined) {
    err('subject', 'The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.');
  }
  if (body.subject !== undefined && typeof body.subject !== 'string') err('subject', 'The subject must be a string.');
  if (typeof body.subject === 'string' && /[\r\n]/.test(body.subject)) err('subject', 'The subject may not contain line breaks.');

  // content
  if (body.content === undefined) {
    if (body.template_id === undefined) {
      err(
        'content',
        'Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.',
      );
    }
  } else if (!Array.isArray(body.content) || body.content.length === 0) {
    err('content', 'The content parameter must be an array with at least one content block.');
  } else {
    const types: string[] = [];
    body.content.forEach((c, i) => {
      if (!isObject(c)) return err(`content.${i}`, 'Each content block must be an object with a type and a value.');
      if (typeof c.type !== 'string' || c.type.length === 0 || /[;\r\n]/.test(c.type)) {
        err(`content.${i}.type`, "The content type cannot contain ';', or CRLF characters. The content type must be a string at least one character in length.");
      } else types.push(c.type.toLowerCase());
      if (typeof c.value !== 'string' || c.value.length === 0) err(`content.${i}.value`, 'The content value must be a string at least one character in length.');
    });
    const plain = types.indexOf('text/plain');
    const html = types.indexOf('text/html');
    if ((plain > 0) || (html >= 0 && html !== (plain >= 0 ? 1 : 0))) {
      err('content', 'If present, text/plain and text/html may only be provided in this order: text/plain, text/html, then any other content types.');
    }
    if (new Set(types).size !== types.length) err('content', 'Each content type may only be provided once.');
  }

  // attachments
  if (body.attachments !== undefined) {
    if (!Array.isArray(body.attachments)) err('attachments', 'The attachments parameter must be an array.');
    else {
      body.attachments.forEach((a, i) => {
        const at = `attachments.${i}`;
        if (!isObject(a)) return err(at, 'Each attachment must be an object.');
        if (typeof a.content !== 'string' || a.content.length === 0 || a.content.length % 4 !== 0 || !BASE64.test(a.content)) {
          err(`${at}.content`, 'The attachment content must be base64 encoded.');
        }
        if (typeof a.filename !== 'string' || a.filename.length === 0) err(`${at}.filename`, 'The attachment filename parameter is required.');
        else if (/[\r\n]/.test(a.filename)) err(`${at}.filename`, 'The attachment filename may not contain line breaks.');
        if (a.type !== undefined && (typeof a.type !== 'string' || a.type.length === 0 || /[;\r\n]/.test(a.type))) {
          err(`${at}.type`, "The attachment type cannot contain ';', or CRLF characters. The attachment type must be a string at least one character in length.");
        }
        if (a.disposition !== undefined && a.disposition !== 'inline' && a.disposition !== 'attachment') {
          err(`${at}.disposition`, 'The disposition of your attachment can be either "inline" or "attachment".');
        }
        if (a.disposition === 'inline' && (typeof a.content_id !== 'string' || a.content_id.length === 0)) {
          err(`${at}.content_id`, 'The content_id parameter is required for inline attachments.');
        }
      });
    }
  }

  checkHeaders(body.headers, 'headers', err);

  // categories
  if (body.categories !== undefined) {
    if (!Array.isArray(body.categories)) err('categories', 'The categories parameter must be an array of strings.');
    else {
      if (body.categories.length > limits.maxCategories) err('categories', `You may not have more than ${limits.maxCategories} categories per request.`);
      body.categories.forEach((c, i) => {
        if (typeof c !== 'string' || c.length === 0 || c.length > 255) err(`categories.${i}`, 'A category must be a string of 1 to 255 characters.');
      });
      if (new Set(body.categories).size !== body.categories.length) err('categories', 'The categories must be unique.');
    }
  }
  if (body.custom_args !== undefined) checkCustomArgs(body.custom_args, 'custom_args', limits, err);
  return errors;
}

function checkHeaders(headers: unknown, field: string, err: (field: string, message: string) => void): void {
  if (headers === undefined) return;
  if (!isObject(headers)) return err(field, `Invalid type. Expected: object, given: ${Array.isArray(headers) ? 'array' : typeof headers}.`);
  for (const [name, value] of Object.entries(headers)) {
    if (RESERVED.has(name.toLowerCase())) {
      err(field, `The header ${name} is reserved and cannot be set. The reserved headers are: ${SENDGRID_RESERVED_HEADERS.join(', ')}.`);
      continue;
    }
    if (typeof value !== 'string') {
      err(field, `Invalid type. Expected: string, given: ${typeof value} (header ${name}).`);
      continue;
    }
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) err(field, `The header name ${JSON.stringify(name)} is not a valid header field name.`);
    if (!ASCII.test(value)) err(field, `The value of the header ${name} must be ASCII; encode other characters (RFC 2047).`);
  }
}

function checkCustomArgs(args: unknown, field: string, limits: SchemaLimits, err: (field: string, message: string) => void): void {
  if (!isObject(args)) return err(field, 'The custom_args parameter must be an object.');
  for (const [key, value] of Object.entries(args)) {
    if (typeof value !== 'string') err(`${field}.${key}`, 'Invalid type. Expected: string. Custom arguments must be strings.');
  }
  if (Buffer.byteLength(JSON.stringify(args)) > limits.maxCustomArgsBytes) {
    err(field, `The custom_args may not exceed ${limits.maxCustomArgsBytes} bytes.`);
  }
}
