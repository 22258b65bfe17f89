/**
 * Two `warren serve` replicas on one private PostgreSQL (issue 16, items 2 and 3): each has
 * its own data dir, bridge, subnet and SSH jump host port; they share the database. A
 * workspace is created and its runtime access enabled on A with the official client; B
 * must then know A's tokens at once, because token lookup is by a hashed column and the
 * secrets (gateway signing key, POST /tokens key ring, SSH jump host key) are in the database.
 *
 * The observable on B. Both replicas run on this one host but the sandbox lives on A's
 * bridge, and until the node relay lands B cannot be relied on to reach A's agent. So the
 * workspace keeps `public_access: false`, and B's gateway answers a token it RESOLVED with
 * 403 `public_access_required` (checked after the token is found, before the agent is
 * contacted), and a token it does not know with 401 `unauthorized`. That separates "token
 * known" from "token unknown" without touching the agent. Control-plane tokens (POST /tokens,
 * the 30-day workspace token) are checked with a control-plane call B answers itself.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { freePort } from '../support/ssh.js';
import { adminClient, openRuntime, until, waitForStatus, type Client } from '../support/workspaces.js';

/** Status and error code of B's (or A's) gateway for `token`, on a path that needs a resolved workspace. */
async function gateway(server: TestServer, token: string): Promise<{ status: number; code: string | undefined }> {
  const res = await fetch(`${server.url}/runtime`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json().catch(() => ({}))) as { code?: string };
  return { status: res.status, code: body.code };
}

/** Status of a control-plane call made with a Bearer token. */
async function controlPlane(server: TestServer, path: string, token: string): Promise<number> {
  const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

const KNOWN = { status: 403, code: 'public_access_required' };
const UNKNOWN = { status: 401, code: 'unauthorized' };

/** Polls `probe` every 25 ms until it equals `want`; resolves with the time it took, fails after `ms`. */
async function within(what: string, ms: number, probe: () => Promise<unknown>, want: unknown): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const got = await probe();
    if (JSON.stringify(got) === JSON.stringify(want)) return Date.now() - t0;
    if (Date.now() - t0 > ms) assert.fail(`${what}: still ${JSON.stringify(got)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The host key (base64 of the SSH wire form) a jump host presents; no login needed. */
function jumpHostKeyOf(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    let key = '';
    c.once('ready', () => { c.end(); resolve(key); });
    c.once('error', (err) => (key ? resolve(key) : reject(err)));
    c.connect({
      host: '127.0.0.1', port, username: 'probe', readyTimeout: 15_000,
      hostVerifier: (k: Buffer) => { key = k.toString('base64'); return true; },
    });
  });
}

describe('two replicas on one PostgreSQL share tokens and secrets', () => {
  let pgs: TestPostgres;
  let dbUrl: string;
  let a: TestServer;
  let b: TestServer;
  let clientA: Client;
  let sshA: number;
  let sshB: number;

  before(async () => {
    await ensureTestImages(['debian-12']);
    pgs = await startPostgres();
    dbUrl = await pgs.createDatabase();
    [sshA, sshB] = [await freePort(), await freePort()];
    a = await startServer({ databaseUrl: dbUrl, env: { WARREN_SSH_PORT: String(sshA) } });
    b = await startServer({ databaseUrl: dbUrl, env: { WARREN_SSH_PORT: String(sshB) } });
    clientA = adminClient(a);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await pgs?.stop();
  });

  test('both start on one database; coordination elects exactly one leader', async () => {
    const leads = (s: TestServer) => s.logs.some((l) => l.includes('this instance is the leader'));
    await until('a leader', async () => leads(a) || leads(b));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(Number(leads(a)) + Number(leads(b)), 1, 'one leader, not two');
  });

  test('tokens issued by A are known to B at once; a rotation on A is refused by B within 1 s', async () => {
    const ws = await clientA.workspaces.create({ image: 'debian-12', memory_mb: 128 } as any);
    try {
      await waitForStatus(a, ws.id, 'running');
      const { token: jwt } = await clientA.workspaces.apiAccess.enable(ws.id);
      const raw = (await clientA.workspaces.apiAccess.rawToken(ws.id)).token as string;
      const long = await api(a, 'POST', `/workspace/${ws.id}/runtime-api-access/workspace`);
      assert.equal(long.status, 200, JSON.stringify(long.body));
      const issued = await api(a, 'POST', '/tokens', { scope: 'workspace', workspaceId: ws.id, ttl: 600 });
      assert.equal(issued.status, 201, JSON.stringify(issued.body));

      // A itself: the observable means what it says.
      assert.deepEqual(await gateway(a, raw), KNOWN);
      assert.deepEqual(await gateway(a, 'f'.repeat(64)), UNKNOWN);

      // (a) B resolves A's raw token, gateway JWT and 30-day token, and accepts A's POST /tokens token.
      assert.deepEqual(await gateway(b, raw), KNOWN, 'raw token (found by its hash in the shared store)');
      assert.deepEqual(await gateway(b, jwt), KNOWN, 'gateway JWT (one signing key in the database)');
      assert.deepEqual(await gateway(b, long.body.token), KNOWN, '30-day workspace token');
      assert.equal(await controlPlane(b, `/workspace/${ws.id}`, long.body.token), 200, 'the 30-day token on B\'s control plane');
      assert.equal(await controlPlane(b, `/workspace/${ws.id}`, issued.body.token), 200, 'a POST /tokens token (one key ring)');
      assert.deepEqual(await gateway(b, 'f'.repeat(64)), UNKNOWN);

      // (b) Rotate on A: B refuses the old raw token and JWT within 1 s and knows the new ones.
      const rotated = await clientA.workspaces.apiAccess.rotateToken(ws.id);
      const rawMs = await within('old raw token on B', 1000, () => gateway(b, raw), UNKNOWN);
      const jwtMs = await within('old JWT on B', 1000, () => gateway(b, jwt), UNKNOWN);
      const newRaw = (await clientA.workspaces.apiAccess.rawToken(ws.id)).token as string;
      assert.notEqual(newRaw, raw);
      assert.deepEqual(await gateway(b, newRaw), KNOWN);
      assert.deepEqual(await gateway(b, rotated.token), KNOWN);
      assert.ok(rawMs < 1000 && jwtMs < 1000, `${rawMs} ms, ${jwtMs} ms`);

      // The key ring: rotate-and-revoke on A ends A's POST /tokens tokens on B within 1 s (bus → re-read).
      const rot = await api(a, 'POST', '/tokens/signing-key/rotate', { revokeExisting: true });
      assert.equal(rot.status, 200, JSON.stringify(rot.body));
      await within('the revoked token on B', 1000, () => controlPlane(b, `/workspace/${ws.id}`, issued.body.token), 401);
      const fresh = await api(a, 'POST', '/tokens', { scope: 'workspace', workspaceId: ws.id, ttl: 600 });
      await within('a token signed with the new key on B', 1000, () => controlPlane(b, `/workspace/${ws.id}`, fresh.body.token), 200);

      // The secrets are in the database, not in either data dir.
      const keys = (await pgs.query<{ key: string }>(dbUrl, "SELECT key FROM settings WHERE key LIKE 'secret.%' ORDER BY key")).map((r) => r.key);
      assert.deepEqual(keys, ['secret.access-keys', 'secret.gateway-signing-key', 'secret.ssh-jump-host-key']);
      for (const s of [a, b]) {
        for (const f of ['gateway-signing.key', 'access-keys.json', 'ssh-jump-host-ed25519.key']) {
          assert.equal(existsSync(join(s.dataDir, 'secrets', f)), false, `${f} in ${s.dataDir}`);
        }
      }
    } finally {
      await clientA.workspaces.delete(ws.id).catch(() => {});
    }
  });

  test('each server\'s host-local work touches only its own workspaces: B\'s sweeps and a restart of B leave A\'s running', async () => {
    const ws = await clientA.workspaces.create({ image: 'debian-12', memory_mb: 128 } as any);
    try {
      await waitForStatus(a, ws.id, 'running');
      const owner = await pgs.query<{ node_id: string | null }>(dbUrl, 'SELECT node_id FROM workspaces WHERE id = $1', [ws.id]);
      assert.ok(owner[0]?.node_id, 'the record carries the server that runs it');
      // B's driver has no such sandbox: without the ownership check its exit sweep (every 5 s) would
      // take A's workspace for exited, and its start-up reconcile would boot it on B's host.
      await b.terminate();
      await b.restart({ WARREN_SSH_PORT: String(sshB) });
      await new Promise((r) => setTimeout(r, 12_000)); // two sweep periods of B
      const seen = await api(b, 'GET', `/workspace/${ws.id}`);
      assert.equal(seen.status, 200);
      assert.equal(seen.body.workspace?.status, 'running', JSON.stringify(seen.body));
      assert.equal(b.logs.some((l) => l.includes('workspace exited') && l.includes(ws.id)), false, 'B judged A\'s workspace');
      const rt = await openRuntime(clientA, a, ws.id);
      assert.equal((await rt.exec.run(['sh', '-c', 'echo alive'])).stdout, 'alive\n', 'A\'s sandbox was left running');
    } finally {
      await clientA.workspaces.delete(ws.id).catch(() => {});
    }
  });

  test('(c) B\'s SSH jump host presents the same host key as A\'s', async () => {
    const [keyA, keyB] = [await jumpHostKeyOf(sshA), await jumpHostKeyOf(sshB)];
    assert.ok(keyA.length > 40, keyA);
    assert.equal(keyB, keyA);
  });
});
