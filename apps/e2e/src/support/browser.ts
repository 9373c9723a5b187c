import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';

/** Chromium's flags for a headless run in a container (no sandbox, no GPU, no background traffic). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const INSTALL_CHROMIUM = 'apt-get update && apt-get install -y chromium';

/**
 * The system's Chromium (Debian's `chromium` package; CHROMIUM_PATH overrides): Playwright's own
 * browser download is not used. Throws, naming the install command, when there is none.
 */
export function chromiumPath(): string {
  const given = process.env['CHROMIUM_PATH'];
  if (given) return given;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    } catch {
      // not this one
    }
  }
  throw new Error(`no Chromium on PATH: install it with \`${INSTALL_CHROMIUM}\` (or set CHROMIUM_PATH)`);
}

/** Headless Chromium (loaded here only: the other suites that import this support never load Playwright). */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
}

/**
 * A page that records what would show in the browser's console as an error (console.error, failed
 * loads, uncaught exceptions): a test ends with `expect(watched.errors).toEqual([])`.
 */
export interface WatchedPage {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly errors: string[];
}

export async function watchedPage(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  page.on('requestfailed', (request) => {
    // an EventSource closed by the page itself (a view unmounted, the page closed) is not a failure
    const failure = request.failure()?.errorText ?? '';
    if (/ERR_ABORTED/.test(failure)) return;
    errors.push(`request: ${request.method()} ${request.url()} ${failure}`);
  });
  return { context, page, errors };
}

/**
 * Where a console screenshot goes: tmp/console/<name>.png under the workspace root (ignored by git), so
 * that a test run leaves the checkout as it found it; reports/console/<name>.png, the committed ones the
 * READMEs show, with UPDATE_SCREENSHOTS=1. The folder is created.
 */
export function screenshotPath(name: string): string {
  const folder = process.env['UPDATE_SCREENSHOTS'] === '1' ? ['reports', 'console'] : ['tmp', 'console'];
  const file = join(workspaceRoot(), ...folder, `${name}.png`);
  mkdirSync(dirname(file), { recursive: true });
  return file;
}

function workspaceRoot(): string {
  return resolve(__dirname, '../../../..');
}
