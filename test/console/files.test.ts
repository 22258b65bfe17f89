/**
 * The console's Files tab against a real Warren and a real debian-12 workspace: uploads by the
 * file picker and by drag and drop (a tar.gz built in the page), the listing, a text file opened,
 * edited and saved (read back through the official client), a failed save that keeps the edit,
 * a new folder and its deletion, a binary file offered for download instead of opened, and a
 * download whose bytes match what was uploaded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { consoleFixture, foreignRequests, openConsole, screenshot, signInWithKey } from '../support/browser.js';
import { type TestServer } from '../support/warren.js';
import { openRuntime, type Client, type Rt } from '../support/workspaces.js';

const DIR = '/root/console-files';
let server: TestServer;
let browser: Browser;
let client: Client;
let rt: Rt;
let wsId = '';

before(async () => {
  ({ server, browser, client, wsId } = await consoleFixture({ name: 'console-files', memory_mb: 512 }));
  rt = await openRuntime(client, server, wsId);
  const made = await rt.exec.run(['sh', '-c', `mkdir -p ${DIR} && printf 'ELF\\000\\001\\002' > ${DIR}/blob.bin && head -c 3000 /dev/urandom >> ${DIR}/blob.bin`]);
  assert.equal(made.exit_code, 0, made.stderr);
});

after(async () => {
  await browser?.close();
  if (wsId) await client?.workspaces.delete(wsId).catch(() => undefined);
  await server?.stop();
});

const row = (page: Page, name: string) => page.getByRole('button', { name, exact: true });

test('files tab: upload, edit and save, folders, binary files, download', async () => {
  const c = await openConsole(browser, server);
  const { page } = c;
  try {
    await signInWithKey(page);
    await page.goto(`${server.url}/console/w/${wsId}/files?path=${encodeURIComponent(DIR)}`);
    await page.getByRole('navigation', { name: 'Folder path' }).getByText('console-files').waitFor();
    await row(page, 'blob.bin').waitFor();

    // Upload with the picker: a text file and random binary bytes (NULs included).
    const random = randomBytes(200_000);
    await page.getByLabel('Files to upload').setInputFiles([
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from the console\n') },
      { name: 'random.bin', mimeType: 'application/octet-stream', buffer: random },
    ]);
    await page.getByText('Uploaded 2 files').waitFor();
    await row(page, 'notes.txt').waitFor();
    await row(page, 'random.bin').waitFor();

    // Upload by dropping a file on the listing.
    const dt = await page.evaluateHandle(() => {
      const d = new DataTransfer();
      d.items.add(new File(['dropped here\n'], 'dropped.txt', { type: 'text/plain' }));
      return d;
    });
    await page.dispatchEvent('.drop-zone', 'dragover', { dataTransfer: dt });
    await page.dispatchEvent('.drop-zone', 'drop', { dataTransfer: dt });
    await row(page, 'dropped.txt').waitFor();
    assert.equal((await rt.files.read({ filePath: `${DIR}/dropped.txt` })).content, 'dropped here\n');

    // Open, edit, save; the change is on the workspace.
    await row(page, 'notes.txt').click();
    const editor = page.getByLabel(`Contents of ${DIR}/notes.txt`);
    assert.equal(await editor.inputValue(), 'hello from the console\n');
    await editor.fill('edited in the browser\nline two\n');
    await page.getByText('Unsaved changes').waitFor();
    await screenshot(page, 'files-editor');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved', { exact: true }).waitFor();
    assert.equal((await rt.files.read({ filePath: `${DIR}/notes.txt` })).content, 'edited in the browser\nline two\n');

    // A failed save shows the API's message and keeps the edit.
    await rt.files.delete({ path: `${DIR}/notes.txt` });
    await rt.files.mkdir({ path: `${DIR}/notes.txt` });
    await editor.fill('second edit\n');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').getByText(/directory/i).waitFor();
    assert.equal(await editor.inputValue(), 'second edit\n');
    await page.getByText('Unsaved changes').waitFor();
    await rt.files.delete({ path: `${DIR}/notes.txt` });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved', { exact: true }).waitFor();
    assert.equal((await rt.files.read({ filePath: `${DIR}/notes.txt` })).content, 'second edit\n');
    await page.getByRole('button', { name: 'Close' }).click();

    // New folder, then delete it (asked first).
    await page.getByRole('button', { name: 'New folder' }).click();
    await page.getByLabel('Folder name').fill('made-here');
    await page.getByRole('button', { name: 'Create' }).click();
    await row(page, 'made-here/').waitFor();
    assert.equal((await rt.files.stat({ path: `${DIR}/made-here` })).type, 'directory');
    await page.getByRole('button', { name: 'Delete made-here' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row(page, 'made-here/').waitFor({ state: 'detached' });
    await assert.rejects(rt.files.stat({ path: `${DIR}/made-here` }));

    // A binary file is offered for download, not opened.
    await row(page, 'blob.bin').click();
    await page.getByText('This is a binary file').waitFor();
    assert.equal(await page.locator('textarea').count(), 0);
    await page.getByRole('button', { name: 'Close' }).click();

    // Download: the saved bytes are the uploaded ones.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download random.bin' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'random.bin');
    assert.ok((await readFile((await download.path())!)).equals(random), 'downloaded bytes match the upload');

    await screenshot(page, 'files');
    await page.setViewportSize({ width: 390, height: 800 });
    await screenshot(page, 'files-narrow');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'no horizontal overflow at 390 px');
    assert.deepEqual(foreignRequests(c.requests, server), []);
  } catch (err) {
    await screenshot(page, 'files-failure').catch(() => undefined);
    throw new Error(`${(err as Error).message}\npage errors: ${c.errors.join('; ')}`, { cause: err });
  } finally {
    await c.close();
  }
});
