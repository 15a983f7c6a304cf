/**
 * Headless Chromium for the browser tests (Debian's `chromium`, driven by playwright-core):
 * whether it is installed, one persistent browser per test file, and pages that collect
 * their uncaught errors.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where the browser tests expect Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Whether the browser is there: skip loudly outside CI (one line naming `what` is skipped),
 * fail under `CI=true`.
 */
export function chromiumAvailable(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${CHROMIUM} is missing; run scripts/ensure-chromium.sh (apt-get install chromium)`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`SKIPPING ${what}: ${message}`);
  return false;
}

/** Launches headless Chromium at a desktop size, its profile in a new folder under `dir`. */
export function launchChromium(dir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(dir, 'profile-')), {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
}

/** A new page (15 s default timeout) whose uncaught errors are pushed onto `errors`. */
export async function openPage(browser: BrowserContext, errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => errors.push(error.message));
  return page;
}
