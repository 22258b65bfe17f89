/**
 * The console's Terminal tab against a real Warren and a real debian-12 workspace: runtime
 * access turned on from the tab's button, a shell typed into through xterm.js over the
 * gateway's `/ws`, a second session, the PTY following the viewport's size, a network blip
 * (output printed while the page was offline shows up once, earlier output stays, new output
 * flows), another client taking the socket ("opened elsewhere" + Reconnect), and closing a
 * session (DELETE /terminals/:id); a reload re-attaches the running session.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { WebSocket as NodeSocket } from 'ws';
import { consoleFixture, openConsole, screenshot, signInWithKey, foreignRequests, type ConsolePage } from '../support/browser.js';
import { type TestServer } from '../support/warren.js';
import { openRuntime, until, type Client, type Rt } from '../support/workspaces.js';

let server: TestServer;
let browser: Browser;
let client: Client;
let wsId = '';

before(async () => {
  ({ server, browser, client, wsId } = await consoleFixture({ name: 'console-term', memory_mb: 512 }));
});

after(async () => {
  await browser?.close();
  if (wsId) await client?.workspaces.delete(wsId).catch(() => undefined);
  await server?.stop();
});

const screen = (page: Page) => page.locator('.term-screen:not([hidden]) .xterm-rows');
const status = (page: Page) => page.locator('.term-conn');

/** Waits until the shown screen's text matches `re`; returns the match. */
async function waitScreen(page: Page, re: RegExp): Promise<RegExpMatchArray> {
  return until(`screen to match ${re}`, async () => re.exec(await screen(page).innerText()) ?? undefined, 20_000);
}

/** Types a command line into the shown terminal. */
async function run(page: Page, line: string): Promise<void> {
  await page.locator('.term-screen:not([hidden]) .xterm').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

/** Runs in the page before its scripts: keeps every WebSocket it opens (to cut them in a blip). */
function recordSockets(): void {
  const Native = window.WebSocket;
  const sockets: WebSocket[] = [];
  (window as unknown as { __sockets: WebSocket[] }).__sockets = sockets;
  window.WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  };
}

function count(text: string, word: string): number {
  return text.split(word).length - 1;
}

test('terminal tab: access, typing, tabs, resize, a blip, another client, closing', async () => {
  const c: ConsolePage = await openConsole(browser, server);
  const { page } = c;
  try {
    await signInWithKey(page);
    await c.context.addInitScript(recordSockets);
    await page.goto(`${server.url}/console/w/${wsId}/terminal`);

    // Access is off on a new workspace: one button turns it on.
    await page.getByRole('heading', { name: 'Runtime access is off' }).waitFor();
    await screenshot(page, 'terminal-access');
    await page.getByRole('button', { name: 'Turn on runtime access' }).click();
    await status(page).getByText('Connected').waitFor();
    await page.getByRole('tab', { name: 'Terminal 1' }).waitFor();
    const net = (await client.workspaces.network.get(wsId)) as { public_access?: boolean };
    assert.equal(net.public_access, true);

    // Type into the shell, read the echo back from xterm's rows.
    await waitScreen(page, /[#$]\s*$/m);
    await run(page, 'echo console-$RANDOM');
    const word = (await waitScreen(page, /^(console-\d+)\s*$/m))[1]!;
    await run(page, 'tty');
    const pts = (await waitScreen(page, /^(\/dev\/pts\/\d+)\s*$/m))[1]!;

    // A second session in its own tab; its PTY follows the viewport.
    await page.getByRole('button', { name: 'New terminal' }).click();
    await page.getByRole('tab', { name: 'Terminal 2', selected: true }).waitFor();
    await waitScreen(page, /[#$]\s*$/m);
    await run(page, 'echo size-$(stty size | tr " " x)');
    const wide = (await waitScreen(page, /^size-(\d+)x(\d+)\s*$/m));
    await page.setViewportSize({ width: 390, height: 800 });
    await page.getByRole('button', { name: 'New terminal' }).waitFor(); // the layout settles
    await until('the PTY to narrow', async () => {
      await run(page, 'clear; echo size-$(stty size | tr " " x)');
      const m = await waitScreen(page, /^size-(\d+)x(\d+)\s*$/m);
      return Number(m[2]) < Number(wide[2]) ? m : undefined;
    });
    await screenshot(page, 'terminal-narrow');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'no horizontal overflow at 390 px');
    await page.setViewportSize({ width: 1280, height: 800 });

    // Back to the first session; then a blip: the page goes offline and its socket drops.
    await page.getByRole('tab', { name: 'Terminal 1' }).click();
    await waitScreen(page, new RegExp(`^${word}\\s*$`, 'm'));
    // (Going offline blocks new connections but leaves open sockets alone: close them too.)
    await c.context.setOffline(true);
    await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.forEach((s) => s.close()));
    await status(page).getByText(/Reconnecting/).waitFor();
    // Output printed while nobody is connected lands only in the runtime's scrollback.
    const rt: Rt = await openRuntime(client, server, wsId);
    const printed = await rt.exec.run(['sh', '-c', `echo while-offline-$((40+2)) > ${pts}`]);
    assert.equal(printed.exit_code, 0);
    await c.context.setOffline(false);
    await status(page).getByText('Connected').waitFor();
    await waitScreen(page, /while-offline-42\s*$/m);
    const after = await screen(page).innerText();
    assert.equal(count(after, word), 1, 'the earlier output is on screen once (the replay did not repeat it)');
    assert.equal(count(after, 'while-offline-42'), 1);
    assert.doesNotMatch(after, /output missed/);
    await run(page, 'echo fresh-$((2+3))');
    await waitScreen(page, /^fresh-5\s*$/m);
    await screenshot(page, 'terminal');

    // Another client takes the workspace's socket: the page says so and does not fight back.
    const { token } = await client.workspaces.apiAccess.getToken(wsId) as { token: string };
    const other = new NodeSocket(`${server.url.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`);
    await new Promise((resolve, reject) => { other.once('open', resolve); other.once('error', reject); });
    await status(page).getByText(/Opened elsewhere/).waitFor();
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await status(page).getByText('Connected').waitFor();
    await new Promise((resolve) => other.readyState === other.CLOSED ? resolve(null) : other.once('close', resolve));
    await run(page, 'echo back-$((3+4))');
    await waitScreen(page, /^back-7\s*$/m);
    assert.equal(count(await screen(page).innerText(), word), 1);

    // Closing a session asks first, then ends it on the workspace.
    await page.getByRole('button', { name: 'Close Terminal 2' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await page.getByRole('tab', { name: 'Terminal 2' }).waitFor({ state: 'detached' });
    const left = await rt.terminal.list();
    assert.deepEqual(left.filter((t: { alive?: boolean }) => t.alive !== false).map((t: { id: string }) => String(t.id)), ['1']);

    // Opening the tab again re-attaches the running session with its scrollback.
    await page.reload();
    await page.getByRole('tab', { name: 'Terminal 1', selected: true }).waitFor();
    await waitScreen(page, /^fresh-5\s*$/m);
    assert.equal(count(await screen(page).innerText(), word), 1);
    assert.equal(await page.getByRole('tab').count(), 1);

    assert.deepEqual(foreignRequests(c.requests, server), []);
  } catch (err) {
    await screenshot(page, 'terminal-failure').catch(() => undefined);
    const rows = await page.locator('.xterm-rows').allInnerTexts().catch(() => []);
    throw new Error(`${(err as Error).message}\nscreens: ${JSON.stringify(rows)}\npage errors: ${c.errors.join('; ')}`, { cause: err });
  } finally {
    await c.close();
  }
});
