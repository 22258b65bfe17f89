/**
 * The console's browser tests: playwright-core driving Debian's Chromium (installed by
 * `scripts/setup.sh --tests`; never a downloaded browser), headless, against a real Warren.
 * Screenshots go to test-artifacts/console/ (kept after the run, ignored by git). Every
 * page records the requests it makes, so a test can prove none left Warren's origin.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, ROOT, startServer, type TestServer } from './warren.js';
import { ensureTestImages } from './images.js';
import { adminClient, waitForStatus, type Client } from './workspaces.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');

export async function launchBrowser(): Promise<Browser> {
  // As root Chromium needs --no-sandbox; the page only ever loads the test server on loopback.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested (to check for third-party requests). */
  requests: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
  close(): Promise<void>;
}

export async function openConsole(browser: Browser, server: TestServer, viewport = { width: 1280, height: 800 }): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport, permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.setDefaultTimeout(30_000);
  await page.goto(`${server.url}/console/`);
  return { context, page, requests, errors, close: () => context.close() };
}

/** Signs in with an API key (the admin key by default) and waits for the workspace list. */
export async function signInWithKey(page: Page, key: { clientId: string; clientSecret: string } = ADMIN): Promise<void> {
  await page.getByLabel('API key').check();
  await page.getByLabel('Client id').fill(key.clientId);
  await page.getByLabel('Client secret').fill(key.clientSecret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
}

export async function signInWithToken(page: Page, token: string): Promise<void> {
  await page.getByLabel('Token', { exact: true }).check();
  await page.locator('textarea[name="token"]').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Requests that went anywhere but the test server's origin. */
export function foreignRequests(requests: string[], server: TestServer): string[] {
  const origin = new URL(server.url).origin;
  const wsOrigin = origin.replace(/^http/, 'ws');
  return requests.filter((u) => !u.startsWith(origin) && !u.startsWith(wsOrigin) && !u.startsWith('data:') && !u.startsWith('blob:'));
}

export interface ConsoleFixture {
  server: TestServer;
  browser: Browser;
  client: Client;
  wsId: string;
}

/** A server, a browser and one running workspace made with the official client (`params` of its create). */
export async function consoleFixture(params: Record<string, unknown>): Promise<ConsoleFixture> {
  await ensureTestImages([String(params.image ?? 'debian-12')]);
  const server = await startServer();
  const browser = await launchBrowser();
  const client = adminClient(server);
  const ws = await client.workspaces.create({ image: 'debian-12', ...params } as Parameters<Client['workspaces']['create']>[0]);
  await waitForStatus(server, ws.id, 'running');
  return { server, browser, client, wsId: ws.id };
}
