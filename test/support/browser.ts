import fs from 'fs';
import path from 'path';
import { chromium, Browser, Page } from 'playwright-core';

export const SCREENSHOT_DIR = path.resolve(__dirname, '..', '..', 'storage', 'screenshots');

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error('Chromium not found: apt-get install -y chromium (or set CHROMIUM_PATH)');
  return found;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

export async function signInThroughForm(page: Page, url: string, account = 'admin@nocobase.com', password = 'admin123') {
  await page.goto(`${url}/signin`);
  await page.getByPlaceholder('Username/Email').fill(account);
  await page.getByPlaceholder('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/signin'), { timeout: 60000 });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A page signed in through the login form (as the admin unless told otherwise), collecting the page's script errors. */
export async function signedInPage(
  browser: Browser,
  url: string,
  viewport = { width: 1400, height: 1200 },
  account?: { email: string; password: string },
) {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(90000); // a busy machine can take a while to serve the first pages
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  if (account) await signInThroughForm(page, url, account.email, account.password);
  else await signInThroughForm(page, url);
  return { page, pageErrors };
}

/** A page signed in as the admin that shows NocoBase in German (the language must be enabled in the system settings). */
export async function germanPage(browser: Browser, url: string, viewport = { width: 1400, height: 1000 }) {
  const { page, pageErrors } = await signedInPage(browser, url, viewport);
  await page.evaluate(() => localStorage.setItem('NOCOBASE_LOCALE', 'de-DE'));
  return { page, pageErrors };
}

/**
 * Picks an option of an antd Select by its label (the options render in a popup whose ids start with the select's
 * id). A click that lands while the form re-renders can leave the popup closed: the select is opened again then.
 */
export async function chooseOption(page: Page, selectId: string, label: string) {
  const select = page.locator(`#${selectId}`);
  const option = page.locator(`.ant-select-item-option[id^="${selectId}_list_"][title="${label}"]`);
  for (let attempt = 1; ; attempt++) {
    await select.click({ force: true });
    try {
      await option.waitFor({ state: 'visible', timeout: 10_000 });
      break;
    } catch (err) {
      if (attempt === 5) throw err;
      if ((await select.getAttribute('aria-expanded')) === 'true') await select.press('Escape');
    }
  }
  await option.click();
  if ((await select.getAttribute('aria-expanded')) === 'true') await select.press('Escape');
  await page.locator(`#${selectId}[aria-expanded="false"]`).waitFor();
}

/** Drawers and modals slide in: waits until the element stops moving (before a screenshot). */
export async function settled(page: Page, selector: string) {
  let last = '';
  for (let i = 0; i < 30; i++) {
    const box = JSON.stringify(await page.locator(selector).first().boundingBox());
    if (box === last) return;
    last = box;
    await page.waitForTimeout(100);
  }
}

/**
 * Counts the page's unfinished API writes (POST …): the UI editor saves blocks and actions in the background,
 * and navigating away before they finish loses them. `idle()` resolves once none is pending for a moment.
 */
export function trackWrites(page: Page) {
  const pending = new Set<unknown>();
  const isWrite = (r: { method(): string; url(): string }) => r.method() !== 'GET' && r.url().includes('/api/');
  page.on('request', (r) => isWrite(r) && pending.add(r));
  page.on('requestfinished', (r) => pending.delete(r));
  page.on('requestfailed', (r) => pending.delete(r));
  return {
    async idle(quietMs = 500) {
      let quietSince = Date.now();
      for (;;) {
        if (pending.size) quietSince = Date.now();
        else if (Date.now() - quietSince >= quietMs) return;
        await page.waitForTimeout(100);
      }
    },
  };
}
