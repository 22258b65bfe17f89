/**
 * The console's observation tabs on a real server, a real `debian-12` workspace (made with
 * the official client) and real Chromium:
 * - Monitor: the CPU chart draws, its value (read by its accessible name) rises above 50 %
 *   once a CPU burner runs in the workspace (started through the official runtime client),
 *   its data grows, and the chart follows its container down to 390 px;
 * - Logs: the command log shows the marker the workspace's cmd prints; the boot log shows
 *   Warren's steps and says when it ended;
 * - Workloads: a workload created from the tab runs, its output shows in the tab, Stop stops it;
 * - Snapshots: a snapshot taken from the tab is listed; an archive is made and deleted; a fork
 *   made from the tab is linked and listed among the workspace's forks;
 * - Monitor again: the workspace stopping is shown, and the charts follow it once it runs again;
 * - Logs again: the command log follows a restart without repeating the lines it showed.
 * Nothing leaves Warren's origin, and the page throws no error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { consoleFixture, foreignRequests, openConsole, screenshot, signInWithKey, type ConsolePage } from '../support/browser.js';
import { api, type TestServer } from '../support/warren.js';
import { openRuntime, until, waitForStatus, type Client } from '../support/workspaces.js';

let server: TestServer;
let browser: Browser;
let client: Client;
let wsId: string;
let c: ConsolePage;

const MARK = 'OBS-CMD-MARK';
const CMD = ['sh', '-c', `echo ${MARK}; while :; do echo beat; sleep 1; done`];

before(async () => {
  ({ server, browser, client, wsId } = await consoleFixture({ memory_mb: 256, name: 'observe', config: { cmd: CMD } }));
  c = await openConsole(browser, server);
  await signInWithKey(c.page);
});

after(async () => {
  await c?.close();
  await browser?.close();
  await server?.stop();
});

async function openTab(page: Page, tab: string): Promise<void> {
  await page.getByRole('link', { name: tab, exact: true }).click();
  await page.waitForURL(new RegExp(`/console/w/${wsId}/${tab.toLowerCase()}$`));
}

/** The number in the CPU chart's text value ("CPU 97.3 %"). */
async function cpuShown(page: Page): Promise<number> {
  const text = await page.getByRole('status', { name: 'CPU now' }).innerText();
  const m = /CPU ([\d.]+) %/.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

const pointsOf = async (page: Page) => Number(await page.locator('figure[data-chart="cpu"]').getAttribute('data-points'));

test('Monitor: the CPU chart follows a CPU burner started in the workspace', async () => {
  const { page } = c;
  await page.goto(`${server.url}/console/w/${wsId}`);
  await openTab(page, 'Monitor');
  await page.locator('figure[data-chart="cpu"] canvas').waitFor();
  await until('a first CPU value', async () => Number.isFinite(await cpuShown(page)));
  const before = await pointsOf(page);

  const rt = await openRuntime(client, server, wsId);
  await rt.exec.run(['sh', '-c', 'timeout 30 sh -c "while :; do :; done" >/dev/null 2>&1 &']);
  const high = await until('the CPU value above 50 %', async () => {
    const v = await cpuShown(page);
    return v > 50 && v;
  }, 20_000);
  assert.ok(high > 50, `CPU shown ${high}`);
  const grown = await pointsOf(page);
  assert.ok(grown > before, `the chart's data grew (${before} → ${grown})`);
  for (const name of ['Memory now', 'Disk now', 'Network now']) {
    assert.match(await page.getByRole('status', { name }).innerText(), /\d/, name);
  }
  await screenshot(page, 'monitor');

  await page.setViewportSize({ width: 390, height: 800 });
  await until('the chart fits 390 px', async () => {
    const w = await page.locator('figure[data-chart="cpu"] canvas').evaluate((el) => el.getBoundingClientRect().width);
    return w > 100 && w <= 390;
  });
  await screenshot(page, 'monitor-narrow');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'no horizontal overflow at 390 px');
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('Logs: the command log shows the cmd marker; the boot log shows Warren\'s steps and ends', async () => {
  const { page } = c;
  await openTab(page, 'Logs');
  const cmdLog = page.getByRole('log', { name: 'Command log output' });
  await cmdLog.getByText(MARK).waitFor();
  await cmdLog.getByText('beat').first().waitFor();
  await screenshot(page, 'logs');

  await page.getByLabel('Source').selectOption({ label: 'Boot log' });
  const bootLog = page.getByRole('log', { name: 'Boot log output' });
  await bootLog.getByText('Boot complete').waitFor();
  await page.getByText('End of the boot log.').waitFor();
});

test('Workloads: one created from the tab runs, shows its output, and stops', async () => {
  const { page } = c;
  await openTab(page, 'Workloads');
  const form = page.getByRole('form', { name: 'New workload' });
  await form.getByLabel('Name').fill('echoer');
  await form.getByLabel('Command').fill('echo WL-MARK-1; while :; do echo wl-beat; sleep 1; done');
  await form.getByRole('button', { name: 'Create workload' }).click();

  const row = page.getByRole('row').filter({ hasText: 'echoer' });
  await row.locator('.badge', { hasText: 'running' }).waitFor();
  const output = page.getByRole('log', { name: 'Workload echoer output' });
  await output.getByText('WL-MARK-1').waitFor();

  await row.getByRole('button', { name: 'Stop' }).click();
  await row.locator('.badge').filter({ hasText: /^(stopped|exited)$/ }).waitFor();
  const listed = await api(server, 'GET', `/workspace/${wsId}/workloads`);
  const w = listed.body.workloads.find((x: any) => x.name === 'echoer');
  assert.ok(w && w.status !== 'running', `the API says ${w?.status}`);
  assert.equal(w.enabled, false);
  await screenshot(page, 'workloads');
});

test('Snapshots: a snapshot taken from the tab is listed; archives and forks', async () => {
  const { page } = c;
  await openTab(page, 'Snapshots');
  await page.getByText('No snapshot yet.').waitFor();
  await page.getByRole('button', { name: 'Take snapshot' }).click();
  await page.getByRole('status').filter({ hasText: 'Snapshot taken' }).waitFor();
  const table = page.getByRole('table', { name: 'Snapshots taken' });
  await table.getByText('latest · restorable').waitFor();
  assert.equal(await table.locator('tbody tr').count(), 1);
  const activity = await api(server, 'GET', `/workspace/${wsId}/activity?type=snapshot`);
  assert.equal(activity.body.count, 1);

  const archives = page.getByRole('form', { name: 'New archive' });
  await archives.getByLabel('Version').fill('obs-v1');
  await archives.getByRole('button', { name: 'Create archive' }).click();
  const archiveTable = page.getByRole('table', { name: 'Archives' });
  await archiveTable.getByRole('row').filter({ hasText: 'obs-v1' }).locator('.badge', { hasText: 'ready' }).waitFor();

  const forkForm = page.getByRole('form', { name: 'Fork this workspace' });
  await forkForm.getByLabel('Name').fill('observe-copy');
  await forkForm.getByRole('button', { name: 'Fork' }).click();
  await page.getByRole('status').filter({ hasText: 'Forked' }).getByRole('link', { name: 'observe-copy' }).waitFor();
  await page.getByRole('list', { name: 'Forks of this workspace' }).getByRole('link', { name: 'observe-copy' }).waitFor();
  await screenshot(page, 'snapshots');

  await archiveTable.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByText('No archives yet.').waitFor();
  assert.deepEqual((await api(server, 'GET', `/workspace/${wsId}/archives`)).body.archives, []);
});

test('Monitor: says so when the workspace stops, and follows it again once it runs', async () => {
  const { page } = c;
  await openTab(page, 'Monitor');
  const status = page.locator('.monitor-status');
  await status.getByText('Live, every second.').waitFor();
  await client.workspaces.stop(wsId);
  await status.getByText(/stopped/).waitFor();
  assert.equal(await cpuShown(page), Number.NaN, 'no current CPU value while stopped');
  const before = await pointsOf(page);

  await client.workspaces.start(wsId);
  await waitForStatus(server, wsId, 'running');
  await status.getByText('Live, every second.').waitFor();
  await until('new points after the restart', async () => (await pointsOf(page)) > before && Number.isFinite(await cpuShown(page)));
});

test('Logs: the command log follows the workspace across a restart without repeating what it showed', async () => {
  const { page } = c;
  await openTab(page, 'Logs');
  const cmdLog = page.getByRole('log', { name: 'Command log output' });
  await cmdLog.getByText(MARK).first().waitFor();
  const marks = () => cmdLog.locator('.log-line .text', { hasText: MARK }).count();
  const first = await marks();
  await client.workspaces.restart(wsId);
  await waitForStatus(server, wsId, 'running');
  // The cmd runs again and prints its marker once more; the replayed tail is not shown twice.
  await until('the marker of the new run', async () => (await marks()) === first + 1, 30_000);
  await cmdLog.getByText('beat').last().waitFor();
  assert.equal(await marks(), first + 1);

  assert.deepEqual(foreignRequests(c.requests, server), []);
  assert.deepEqual(c.errors.filter((e) => e.startsWith('pageerror')), []);
});
