import { chromium, type Browser } from 'playwright-core';

/** The Chromium the browser tests drive: `CHROMIUM_PATH`, else the distribution's package. */
export const chromiumPath = (): string => process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Launches headless Chromium with nothing running in the background (no updates, sync or
 * network prefetching) that could slow a test down or make it flaky. `extraArgs` are appended
 * (e.g. `--host-resolver-rules=...` to give local servers host names of their own).
 */
export function launchChromium(options: { extraArgs?: string[] } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    // The headless mode comes from the flag: Playwright's own would pick the old one.
    headless: false,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
      ...(options.extraArgs ?? []),
    ],
  });
}
