/**
 * Headless Chromium for the HTML report and web UI tests: Debian's `chromium`
 * (`scripts/services up tools`) driven by playwright-core, no browser download.
 * Screenshots go to `test-artifacts/` (kept by CI as test artifacts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.BENCHYARD_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test-artifacts');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: run scripts/services up tools (or set BENCHYARD_CHROMIUM)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI: Chromium's sandbox needs user namespaces it may not get there.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** Where a test's screenshot goes: test-artifacts/<name>.png. */
export function screenshotPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, `${name}.png`);
}

/** Collects the page's uncaught errors and console errors; a test expects none. */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
  return problems;
}

/**
 * Lets the page load only file: URLs (an offline report must need nothing else); answers the
 * list, filled as the page runs, of every other URL it asked for and was refused.
 */
export async function blockNetwork(page: Page): Promise<string[]> {
  const network: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    network.push(url);
    return route.abort();
  });
  return network;
}
