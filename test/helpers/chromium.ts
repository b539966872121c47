import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium (scripts/test-services.sh installs it), headless, offline-minded: the browser tests' one launch. */
export const chromiumPath = '/usr/bin/chromium';
const launchArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

export function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install -y chromium`);
  return chromium.launch({ executablePath: chromiumPath, args: launchArgs });
}

/** A dashboard page that may only reach `base` (anything else is aborted), its errors and console errors into `errors`. */
export async function offlinePage(browser: Browser, base: string, errors: string[]): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  p.on('pageerror', (e) => errors.push(e.message));
  p.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
  await p.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
  return p;
}
