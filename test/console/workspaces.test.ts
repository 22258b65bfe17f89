/**
 * The console's workspace pages against a real Warren and real workspaces, in Chromium:
 * create from the form (a refused value shows the API's message at its field; the created
 * workspace is seen becoming running), pause and resume from the power bar, the network tab
 * (a refused port at its field, then a saved policy in force), the list at 1280 and 390 px
 * (no horizontal overflow; screenshots), a namespace token that sees only its namespace, and
 * delete with confirmation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { foreignRequests, launchBrowser, openConsole, screenshot, signInWithKey, signInWithToken, type ConsolePage } from '../support/browser.js';
import { ensureTestImages } from '../support/images.js';
import { api, startServer, type TestServer } from '../support/warren.js';

const BOOT_MS = 120_000;

let server: TestServer;
let browser: Browser;
let admin: ConsolePage;
let createdId = '';
let teamToken = '';

/** Errors the page logged, without the browser's own line for each refused request (4xx are expected here). */
const pageErrors = (c: ConsolePage) => c.errors.filter((e) => !/Failed to load resource/.test(e));

async function waitForBadge(page: Page, state: string): Promise<void> {
  await page.locator('.ws-head .badge', { hasText: new RegExp(`^${state}$`) }).waitFor({ timeout: BOOT_MS });
}

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
  browser = await launchBrowser();
  const ns = await api(server, 'POST', '/namespaces', { name: 'team-a' });
  assert.ok(ns.status < 300, ns.text);
  const teamWs = await api(server, 'POST', '/workspace', { image: 'debian-12', name: 'team-ws', namespace: 'team-a', config: {}, wait_ready: false });
  assert.ok(teamWs.status < 300, teamWs.text);
  const token = await api(server, 'POST', '/tokens', { scope: 'namespace', namespace: 'team-a', ttl: 900 });
  assert.equal(token.status < 300, true, token.text);
  teamToken = token.body.token;
  admin = await openConsole(browser, server);
  await signInWithKey(admin.page);
});

after(async () => {
  await admin?.close();
  await browser?.close();
  await server?.stop();
});

test("the create form shows the API's message at a refused field, then creates a workspace that is seen becoming running", async () => {
  const { page } = admin;
  await page.getByRole('link', { name: 'New workspace' }).click();
  await page.getByRole('heading', { name: 'New workspace' }).waitFor();
  await page.getByLabel('Image').selectOption('debian-12');
  await page.getByLabel('Name').fill('console-made');
  await page.getByLabel('CPUs').fill('999');
  await page.getByRole('button', { name: 'Create workspace' }).click();

  const cpus = page.getByLabel('CPUs');
  await page.locator('#create-cpus[aria-invalid="true"]').waitFor();
  const refused = await api(server, 'POST', '/workspace', { image: 'debian-12', config: { cpus: 999 }, wait_ready: false });
  assert.ok(refused.status >= 400 && refused.body.details.field === 'config.cpus', refused.text);
  assert.equal(await page.locator('#create-cpus-error').innerText(), refused.body.message);
  assert.match((await cpus.getAttribute('aria-describedby')) ?? '', /create-cpus-error/);
  await screenshot(page, 'workspace-create-refused');
  const listed = await api(server, 'GET', '/workspace');
  assert.equal(listed.body.total, 1, 'the refused create made no workspace');

  await cpus.fill('1');
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await page.waitForURL(/\/console\/w\/ws_[^/]+$/);
  createdId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  await page.getByRole('heading', { name: 'console-made' }).waitFor();
  await waitForBadge(page, 'running');
  const facts = page.locator('section[aria-labelledby="ov-facts"]');
  assert.match(await facts.innerText(), /debian-12/);
  assert.match(await facts.innerText(), new RegExp(createdId));
  await page.getByText('Raw workspace object').click();
  assert.equal(JSON.parse(await page.locator('details.raw pre').innerText()).id, createdId);
  await screenshot(page, 'workspace-overview');
});

test('pause and resume from the power bar; the badge follows', async () => {
  const { page } = admin;
  const power = page.getByRole('group', { name: 'Power' });
  await power.getByRole('button', { name: 'Pause' }).click();
  await waitForBadge(page, 'paused');
  assert.equal((await api(server, 'GET', `/workspace/${createdId}`)).body.workspace.status, 'paused');
  await power.getByRole('button', { name: 'Resume' }).click();
  await waitForBadge(page, 'running');
  assert.equal((await api(server, 'GET', `/workspace/${createdId}`)).body.workspace.status, 'running');
  assert.equal(await power.getByRole('button', { name: 'Resume' }).count(), 0);
});

test("the network tab shows a refused port at its field, then saves the policy and shows it in force", async () => {
  const { page } = admin;
  await page.getByRole('navigation', { name: 'Workspace sections' }).getByRole('link', { name: 'Network' }).click();
  await page.getByRole('heading', { name: 'In force' }).waitFor();
  const ports = page.getByLabel('Ingress ports');
  await ports.fill('70000');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#net-ingress_ports[aria-invalid="true"]').waitFor();
  const refused = await api(server, 'PATCH', `/workspace/${createdId}/network`, { ingress_ports: [70000] });
  assert.equal(await page.locator('#net-ingress_ports-error').innerText(), refused.body.message);

  await ports.fill('8080');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved; it is in force now.').waitFor();
  const inForce = page.locator('section[aria-labelledby="net-in-force"]');
  assert.match(await inForce.innerText(), /Ingress ports\s+8080/);
  assert.deepEqual((await api(server, 'GET', `/workspace/${createdId}/network`)).body.ingress_ports, [8080]);
  await screenshot(page, 'workspace-network');
});

test('the list at 1280 px and at 390 px (cards, no horizontal overflow)', async () => {
  const { page } = admin;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workspaces' }).click();
  await page.getByRole('link', { name: 'console-made' }).waitFor();
  await page.getByText('2 workspaces').waitFor();
  await page.getByRole('link', { name: 'team-ws' }).waitFor();
  // The running workspace's sparklines get their first point from GET /stats.
  await page.getByRole('img', { name: /^CPU \d+%$/ }).first().waitFor();
  await page.getByLabel('Search').fill('team');
  await page.getByText('1 of 2 workspaces').waitFor();
  await page.getByLabel('Search').fill('');
  await page.getByText('2 workspaces').waitFor();
  await screenshot(page, 'workspaces-list');

  const narrow = await openConsole(browser, server, { width: 390, height: 844 });
  try {
    await signInWithKey(narrow.page);
    await narrow.page.getByRole('link', { name: 'console-made' }).waitFor();
    await narrow.page.getByRole('img', { name: /^CPU \d+%$/ }).first().waitFor();
    const width = () => narrow.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(await width() <= 390, `the list is ${await width()} px wide at 390`);
    await screenshot(narrow.page, 'workspaces-list-narrow');
    // The other pages of this work fit too.
    await narrow.page.getByRole('link', { name: 'console-made' }).click();
    await narrow.page.getByRole('heading', { name: 'Facts' }).waitFor();
    await narrow.page.getByRole('heading', { name: 'SSH' }).waitFor();
    assert.ok(await width() <= 390, `the overview is ${await width()} px wide at 390`);
    await narrow.page.getByRole('navigation', { name: 'Workspace sections' }).getByRole('link', { name: 'Network' }).click();
    await narrow.page.getByRole('heading', { name: 'In force' }).waitFor();
    assert.ok(await width() <= 390, `the network tab is ${await width()} px wide at 390`);
    await narrow.page.getByRole('link', { name: 'New workspace' }).click();
    await narrow.page.getByLabel('CPUs').waitFor();
    assert.ok(await width() <= 390, `the create form is ${await width()} px wide at 390`);
    assert.deepEqual(foreignRequests(narrow.requests, server), []);
    assert.deepEqual(pageErrors(narrow), []);
  } finally {
    await narrow.close();
  }
});

test("a namespace token sees only its namespace's workspaces", async () => {
  const c = await openConsole(browser, server);
  try {
    await signInWithToken(c.page, teamToken);
    await c.page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    await c.page.getByRole('link', { name: 'team-ws' }).waitFor();
    await c.page.getByText('1 workspace', { exact: true }).waitFor();
    assert.equal(await c.page.getByRole('link', { name: 'console-made' }).count(), 0);
  } finally {
    await c.close();
  }
});

test('delete asks first, then removes the workspace', async () => {
  const { page } = admin;
  await page.getByRole('link', { name: 'console-made' }).click();
  await waitForBadge(page, 'running');
  const power = page.getByRole('group', { name: 'Power' });
  await power.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.locator('dialog[open]');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await api(server, 'GET', `/workspace/${createdId}`)).status, 200, 'cancel keeps it');

  await power.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(/\/console\/$/);
  await page.getByRole('link', { name: 'team-ws' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'console-made' }).count(), 0);
  assert.equal((await api(server, 'GET', `/workspace/${createdId}`)).status, 404);
  assert.deepEqual(foreignRequests(admin.requests, server), []);
  assert.deepEqual(pageErrors(admin), []);
});
