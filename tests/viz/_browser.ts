/** Headless Chromium for the visualizer's browser test and benchmark, set up the same way. */

import { type Browser, chromium, type Page } from "playwright-core";

/** Launches Chromium at `executablePath` headless, without GPU, sandbox or background traffic. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/**
 * A desktop-sized page. The page's CSP forbids eval, which Playwright's string predicates need;
 * the page itself never evals, so bypassing it changes nothing under test.
 */
export function newDesktopPage(browser: Browser): Promise<Page> {
  return browser.newPage({ viewport: { width: 1400, height: 1000 }, bypassCSP: true });
}
