// Turns the HTML of a received mail into a document that is safe to show in a sandboxed iframe: no scripts, no
// event handlers, no active content, no javascript: URLs, no CSS expressions, and — until the reader allows them —
// no remote images or other remote resources (they tell the sender that and when the mail was read).
// It runs on DOMParser's inert document: nothing in it is executed or fetched while it is cleaned.

export interface SanitizeOptions {
  /** load http(s) images and CSS backgrounds */
  allowRemote: boolean;
}

export interface SanitizedMail {
  /** a complete document for <iframe srcdoc>, with a Content-Security-Policy meta first in <head> */
  document: string;
  /** how many remote resources were left out (0 when allowRemote) */
  blockedRemote: number;
  /** rough height of the content in px, for sizing the iframe (its document cannot be measured from outside) */
  estimatedHeight: number;
}

/** Elements removed with their content. */
const DROP = new Set([
  'script', 'noscript', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'param', 'base', 'meta', 'link',
  'template', 'portal', 'svg', 'math', 'audio', 'video', 'source', 'track', 'canvas', 'dialog', 'title',
]);

/** Elements replaced by their children (forms cannot submit in the sandbox anyway, but keep them inert). */
const UNWRAP = new Set(['form', 'html', 'head', 'body']);

const URL_ATTRIBUTES = new Set([
  'href', 'src', 'action', 'formaction', 'xlink:href', 'background', 'poster', 'srcset', 'lowsrc', 'dynsrc', 'data',
  'cite', 'longdesc', 'ping', 'usemap', 'codebase', 'manifest', 'profile', 'icon',
]);

const SAFE_LINK = /^(https?:|mailto:|tel:|#)/i;
const REMOTE = /^(https?:)?\/\//i;
const DATA_IMAGE = /^data:image\/(png|gif|jpe?g|webp|bmp|x-icon);/i;

export function contentSecurityPolicy(allowRemote: boolean): string {
  return `default-src 'none'; img-src data: ${allowRemote ? 'https: http:' : ''}; style-src 'unsafe-inline'; font-src data:`
    .replace(/\s+;/g, ';');
}

/** Removes what CSS could run or fetch; remote url()s stay only when allowed. */
export function sanitizeCss(css: string, allowRemote: boolean, counter: { blocked: number }): string {
  let out = css
    // comments can hide tokens (ex/**/pression)
    .replace(/\/\*[\s\S]*?\*\//g, '')
    // CSS escapes can spell anything (\65 xpression); an e-mail has no honest use for them
    .replace(/\\[0-9a-f]{1,6}\s?/gi, '')
    .replace(/\\(.)/g, '$1');
  out = out.replace(/@import[^;]*;?/gi, '');
  out = out.replace(/expression\s*\(/gi, 'blocked(');
  out = out.replace(/(-moz-binding|behaviou?r)\s*:[^;}]*/gi, '');
  out = out.replace(/javascript\s*:/gi, 'blocked:');
  out = out.replace(/url\s*\(\s*(['"]?)(.*?)\1\s*\)/gi, (_m, _q, raw: string) => {
    const url = raw.trim();
    if (DATA_IMAGE.test(url)) return `url("${url.replace(/"/g, '')}")`;
    if (REMOTE.test(url) && allowRemote) return `url("${url.replace(/["\\()]/g, '')}")`;
    counter.blocked += REMOTE.test(url) || /^cid:/i.test(url) ? 1 : 0;
    return 'none';
  });
  // a style element's text must not be able to close it
  return out.replace(/</g, '');
}

function cleanSrcset(value: string, allowRemote: boolean): string | null {
  if (!allowRemote) return null;
  const candidates = value.split(',').map((c) => c.trim()).filter(Boolean);
  return candidates.every((c) => /^https?:\/\//i.test(c)) ? candidates.join(', ') : null;
}

function cleanElement(el: Element, allowRemote: boolean, counter: { blocked: number }) {
  const tag = el.tagName.toLowerCase();
  for (const attr of Array.from(el.attributes)) {
    const name = attr.name.toLowerCase();
    const value = attr.value.replace(/[\u0000-\u0020\u007f-\u009f]/g, '');
    if (name.startsWith('on') || name === 'formaction' || name === 'srcdoc' || name === 'is') {
      el.removeAttribute(attr.name);
      continue;
    }
    if (name === 'style') {
      el.setAttribute('style', sanitizeCss(attr.value, allowRemote, counter));
      continue;
    }
    if (name === 'srcset') {
      const kept = cleanSrcset(attr.value, allowRemote);
      if (kept) el.setAttribute('srcset', kept);
      else {
        if (!allowRemote && /https?:/i.test(attr.value)) counter.blocked++;
        el.removeAttribute(attr.name);
      }
      continue;
    }
    if (!URL_ATTRIBUTES.has(name)) continue;
    if (name === 'href' && tag === 'a' || name === 'href' && tag === 'area') {
      if (!SAFE_LINK.test(value)) el.removeAttribute(attr.name);
      continue;
    }
    if ((name === 'src' && tag === 'img') || name === 'background') {
      if (DATA_IMAGE.test(value)) continue;
      if (REMOTE.test(value) && allowRemote) {
        el.setAttribute(attr.name, value.startsWith('//') ? `https:${value}` : value);
        continue;
      }
      if (REMOTE.test(value) || /^cid:/i.test(value)) {
        counter.blocked++;
        if (tag === 'img') el.setAttribute('data-blocked-src', 'remote');
      }
      el.removeAttribute(attr.name);
      continue;
    }
    // any other URL-bearing attribute (action, xlink:href, ping, …) has no business in a mail
    el.removeAttribute(attr.name);
  }
  if (tag === 'a' && el.hasAttribute('href') && !String(el.getAttribute('href')).startsWith('#')) {
    el.setAttribute('target', '_blank');
    el.setAttribute('rel', 'noopener noreferrer');
  }
}

function walk(node: Node, allowRemote: boolean, counter: { blocked: number }) {
  for (const child of Array.from(node.childNodes)) {
    if (child.nodeType === 8 /* comment */ || child.nodeType === 7 /* processing instruction */) {
      child.parentNode?.removeChild(child);
      continue;
    }
    if (child.nodeType !== 1) continue;
    const el = child as Element;
    const tag = el.tagName.toLowerCase();
    if (DROP.has(tag) || el.namespaceURI !== 'http://www.w3.org/1999/xhtml') {
      el.parentNode?.removeChild(el);
      continue;
    }
    if (tag === 'style') {
      el.textContent = sanitizeCss(el.textContent ?? '', allowRemote, counter);
      for (const attr of Array.from(el.attributes)) el.removeAttribute(attr.name);
      continue;
    }
    walk(el, allowRemote, counter);
    if (UNWRAP.has(tag)) {
      while (el.firstChild) el.parentNode?.insertBefore(el.firstChild, el);
      el.parentNode?.removeChild(el);
      continue;
    }
    cleanElement(el, allowRemote, counter);
  }
}

const escapeAttribute = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');

const BASE_STYLE = `
  html { color-scheme: light; }
  body { margin: 0; padding: 4px 2px 8px; font: 14px/1.55 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto,
    "Helvetica Neue", Arial, sans-serif; color: rgba(0,0,0,0.88); overflow-wrap: anywhere; }
  img { max-width: 100%; height: auto; }
  img[data-blocked-src] { display: inline-block; min-width: 24px; min-height: 16px; background: #f5f5f5;
    outline: 1px dashed #d9d9d9; }
  table { max-width: 100%; }
  pre { white-space: pre-wrap; }
  blockquote { margin: 0 0 0 4px; padding-left: 12px; border-left: 3px solid #e5e5e5; color: #595959; }
  a { color: #1677ff; }
`;

export function sanitizeMailHtml(html: string, { allowRemote }: SanitizeOptions): SanitizedMail {
  const parsed = new DOMParser().parseFromString(html, 'text/html');
  const counter = { blocked: 0 };
  // <style> in <head> is kept (cleaned); everything else in <head> goes
  const headStyles = Array.from(parsed.head?.querySelectorAll('style') ?? []).map((s) =>
    sanitizeCss(s.textContent ?? '', allowRemote, counter),
  );
  const body = parsed.body ?? parsed.documentElement;
  walk(body, allowRemote, counter);
  for (const el of Array.from(body.attributes)) body.removeAttribute(el.name);
  const csp = contentSecurityPolicy(allowRemote);
  const document =
    '<!DOCTYPE html><html><head>' +
    `<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(csp)}">` +
    '<meta charset="utf-8"><base target="_blank">' +
    `<style>${BASE_STYLE}</style>` +
    headStyles.map((css) => `<style>${css.replace(/<\/style/gi, '')}</style>`).join('') +
    `</head><body>${body.innerHTML}</body></html>`;
  return { document, blockedRemote: allowRemote ? 0 : counter.blocked, estimatedHeight: estimateHeight(body) };
}

/** A guess from the amount of text and the block structure; the iframe scrolls when the guess is short. */
// The frame cannot be measured (its sandbox keeps it cross-origin), so its height is estimated from the content:
// rather too tall than cut off (a cut-off frame scrolls inside, easily missed). 22 px per line (14 px × 1.55), each
// block or <br> starts a line, paragraphs and lists add their 1em margins, the body 12 px of padding.
function estimateHeight(body: Element): number {
  const text = (body.textContent ?? '').replace(/\s+/g, ' ').trim();
  const lineStarts = body.querySelectorAll('p, div, br, li, tr, h1, h2, h3, h4, h5, h6, blockquote, pre').length;
  const margins = body.querySelectorAll('p, h1, h2, h3, h4, h5, h6, blockquote, ul, ol, pre, table').length;
  const lines = Math.ceil(text.length / 90) + lineStarts;
  const images = body.querySelectorAll('img').length;
  return Math.round(Math.min(900, Math.max(120, 16 + lines * 22 + margins * 14 + images * 60)));
}

/** Plain text for the reply quote / forward body from HTML (when a mail has no text part). */
export function htmlToText(html: string): string {
  const parsed = new DOMParser().parseFromString(html, 'text/html');
  parsed.querySelectorAll('script, style, head').forEach((n) => n.remove());
  parsed.querySelectorAll('br').forEach((n) => n.replaceWith('\n'));
  parsed.querySelectorAll('p, div, tr, li, h1, h2, h3, h4, h5, h6').forEach((n) => n.append('\n'));
  return (parsed.body?.textContent ?? '').replace(/\n{3,}/g, '\n\n').trim();
}
