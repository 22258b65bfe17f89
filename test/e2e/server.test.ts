/**
 * The `warren serve` process itself: first-start admin key, one log line per
 * request without secrets, graceful SIGTERM that leaves workspaces running for the
 * next start, slugs in paths, idempotent creates.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Oblien from 'oblien';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';

let server: TestServer;

before(async () => {
  await ensureTestImages();
  // No preset key: the server must generate one, print it once and store it 0600.
  server = await startServer({ env: { WARREN_ADMIN_CLIENT_ID: '', WARREN_ADMIN_CLIENT_SECRET: '' } });
});
after(async () => server?.stop());

function generatedKey() {
  const file = join(server.dataDir, 'admin-credentials.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  return JSON.parse(readFileSync(file, 'utf8')) as { client_id: string; client_secret: string };
}

test('first start generates, prints and stores the admin key', async () => {
  const key = generatedKey();
  assert.ok(server.logs.some((l) => l.includes(key.client_secret)), 'the secret is printed at first start');
  const client = new Oblien({ clientId: key.client_id, clientSecret: key.client_secret, baseUrl: server.url });
  const list = await client.workspaces.list();
  assert.ok(Array.isArray(list.workspaces));
  assert.equal(statSync(join(server.dataDir, 'warren.db')).mode & 0o777, 0o600);
  assert.equal(statSync(server.dataDir).mode & 0o777, 0o700);
});

test('slugs resolve like ids; idempotency keys return the first workspace', async () => {
  const key = generatedKey();
  const client = new Oblien({ clientId: key.client_id, clientSecret: key.client_secret, baseUrl: server.url });
  const h = { 'x-client-id': key.client_id, 'x-client-secret': key.client_secret };
  const body = { image: 'debian-12', slug: 'my-app', idempotency_key: 'k-1', config: { memory_mb: 128 } };
  const first = await api(server, 'POST', '/workspace', body, h);
  assert.equal(first.status, 201, first.text);
  const again = await api(server, 'POST', '/workspace', body, h);
  assert.equal(again.status, 200);
  assert.equal(again.body.workspace.id, first.body.workspace.id);
  const bySlug = await client.workspaces.get('my-app');
  assert.equal(bySlug.id, first.body.workspace.id);
  const taken = await api(server, 'POST', '/workspace', { image: 'debian-12', slug: 'my-app' }, h);
  assert.equal(taken.status, 409);
  assert.equal(taken.body.details.field, 'slug');

  // SIGTERM: clean exit; the workspace keeps running and is reattached on the next start.
  const pidBefore = server.proc.pid;
  const exited = new Promise<number | null>((r) => server.proc.once('exit', (code) => r(code)));
  server.proc.kill('SIGTERM');
  assert.equal(await exited, 0);
  await server.restart();
  assert.notEqual(server.proc.pid, pidBefore);
  const after = await client.workspaces.get('my-app');
  assert.equal(after.status, 'running');
  const { token } = await client.workspaces.apiAccess.enable('my-app');
  const res = await fetch(`${server.url}/runtime?token=${encodeURIComponent(token)}`);
  assert.equal(res.status, 403, 'public_access is still off');
  const logged = () => server.logs.some((l) => l.includes('"path":"/runtime"') && l.includes('"status":403'));
  for (let i = 0; i < 50 && !logged(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(logged(), 'one log line per request');
  assert.ok(!server.logs.some((l) => l.includes(token)), 'tokens never reach the log');
  await client.workspaces.delete('my-app');
});
