import fs from 'fs';
import type { Browser } from 'playwright-core';
import { startHostApp, HostApp } from '../support/hostApp';
import { launchBrowser, screenshot, signInThroughForm } from '../support/browser';

jest.setTimeout(240000);

describe('the host app with Mailbridge in headless Chromium', () => {
  let app: HostApp;
  let browser: Browser;

  beforeAll(async () => {
    app = await startHostApp();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('shows Settings → E-Mail with the accounts table after sign-in', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await signInThroughForm(page, app.url);
    await page.goto(`${app.url}/admin/settings/mail`);
    const table = page.getByTestId('mail-accounts-table');
    await table.waitFor({ timeout: 60000 });
    await page.getByText('No mail accounts yet').waitFor();
    await page.getByRole('columnheader', { name: 'Address' }).waitFor();
    const file = await screenshot(page, '01-settings-mail-accounts');
    expect(fs.statSync(file).size).toBeGreaterThan(10000);
    expect(pageErrors.filter((m) => m.includes('plugin-mail'))).toEqual([]);
  });

  it('lists the plugin as enabled in the plugin manager with its display name', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await signInThroughForm(page, app.url);
    await page.goto(`${app.url}/admin/settings/plugin-manager`);
    await page.getByText('Send and receive e-mail in NocoBase', { exact: false }).first().waitFor({ timeout: 60000 });
    await screenshot(page, '02-plugin-manager');
  });
});
