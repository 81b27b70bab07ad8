/** Debian's Chromium, headless, as the browser tests drive it with playwright-core (no browser downloads here). */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
/** For a suite title: why it is skipped, when it is. */
export const CHROMIUM_MISSING = HAVE_CHROMIUM ? '' : ` — skipped: no ${CHROMIUM} (apt-get install chromium)`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}
