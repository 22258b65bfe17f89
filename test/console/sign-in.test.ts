/**
 * The console is served by `warren serve` at /console and signs in with an API key: real
 * server, real Chromium. Also: the static server's headers and encodings, a wrong key's
 * message, and the session ending when the credential stops being accepted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { foreignRequests, launchBrowser, openConsole, screenshot, signInWithKey } from '../support/browser.js';
import { ADMIN, api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';

let server: TestServer;
let browser: Browser;

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the console shell is served with its security headers and compressed assets', async () => {
  const redirect = await fetch(`${server.url}/console`, { redirect: 'manual' });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get('location'), '/console/');

  const res = await fetch(`${server.url}/console/w/ws_anything/files`, { headers: { 'accept-encoding': 'br' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  const html = await res.text();
  const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script, 'the shell loads a hashed script');

  const js = await fetch(`${server.url}${script}`, { headers: { 'accept-encoding': 'gzip, br' } });
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-encoding'), 'br');
  assert.match(js.headers.get('cache-control') ?? '', /immutable/);

  const missing = await fetch(`${server.url}/console/assets/nope.js`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).code, 'not_found');

  const post = await fetch(`${server.url}/console/`, { method: 'POST' });
  assert.equal(post.status, 405);
});

test('a wrong key is refused with the API message; the admin key signs in', async () => {
  const c = await openConsole(browser, server);
  try {
    await c.page.getByLabel('Client id').fill(ADMIN.clientId);
    await c.page.getByLabel('Client secret').fill('not-the-secret');
    await c.page.getByRole('button', { name: 'Sign in' }).click();
    await c.page.getByRole('alert').waitFor();
    assert.match(await c.page.getByRole('alert').innerText(), /\S/);

    await signInWithKey(c.page);
    await screenshot(c.page, 'sign-in-done');
    const stored = await c.page.evaluate(() => sessionStorage.getItem('warren.credential'));
    assert.ok(stored?.includes(ADMIN.clientId), 'the credential is kept in sessionStorage');
    const cookies = await c.context.cookies();
    assert.equal(cookies.length, 0, 'no cookies');
    assert.deepEqual(foreignRequests(c.requests, server), []);
    assert.deepEqual(c.errors.filter((e) => !/401/.test(e)), []);
  } finally {
    await c.close();
  }
});

test('an expired session returns to sign-in with a message', async () => {
  const c = await openConsole(browser, server);
  try {
    await signInWithKey(c.page);
    await c.page.evaluate(() => sessionStorage.setItem('warren.credential', JSON.stringify({ kind: 'token', token: 'a.b.c' })));
    // The next API call the page makes (the create form loads images and quotas) is refused.
    await c.page.getByRole('link', { name: 'New workspace' }).click();
    await c.page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal(new URL(c.page.url()).pathname, '/console/sign-in');
    assert.match(await c.page.locator('.notice').innerText(), /sign in again/i);
  } finally {
    await c.close();
  }
});

/** Presses Tab until the focused element matches `pred` (at most `max` presses). */
async function tabTo(page: import('playwright-core').Page, what: string, pred: string, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(pred)) return;
  }
  throw new Error(`Tab never reached ${what}`);
}

test('keyboard only: sign in, reach a workspace, move between its tabs; every control has a name', async () => {
  const made = await api(server, 'POST', '/workspace', { image: 'debian-12', name: 'keyboard-ws', config: {}, wait_ready: false });
  assert.ok(made.status < 300, made.text);
  const c = await openConsole(browser, server);
  try {
    const { page } = c;
    await tabTo(page, 'the client id', `document.activeElement?.name === 'client_id'`);
    await page.keyboard.type(ADMIN.clientId);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN.clientSecret);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();

    await page.getByRole('link', { name: 'keyboard-ws' }).waitFor();
    await tabTo(page, 'the workspace link', `document.activeElement?.textContent?.includes('keyboard-ws') && document.activeElement.tagName === 'A'`);
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement!).boxShadow);
    assert.notEqual(ring, 'none', 'the focused link shows a focus ring');
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Workspace sections' }).waitFor();

    await tabTo(page, 'the Monitor tab', `document.activeElement?.textContent === 'Monitor'`);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/monitor$/);

    const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, a[href], input, select, textarea')]
      .filter((el) => {
        const e = el as HTMLElement;
        if (e.offsetParent === null) return false;
        const labelled = e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.getAttribute('title')
          || (e as HTMLInputElement).labels?.length || e.textContent?.trim() || (e as HTMLInputElement).placeholder;
        return !labelled;
      }).map((e) => e.outerHTML.slice(0, 120)));
    assert.deepEqual(unnamed, [], 'every visible control has an accessible name');
  } finally {
    await c.close();
  }
});
