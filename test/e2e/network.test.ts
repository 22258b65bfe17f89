/**
 * Network policy end to end (issue 5): a real Warren whose upstream is a fake
 * internet namespace of this test (test/network/internet.ts) with a fake DNS server
 * in it, real workspaces, the official client, real connections made from inside
 * the workspaces with curl. Nothing leaves this machine: Warren's upstream and
 * resolver both point into the test's own namespace.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { instanceIdFor } from '../../src/config/load.js';
import Oblien, { Runtime } from 'oblien';
import { ADMIN, api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { FakeInternet, INTERNET_HOSTS } from '../network/internet.js';

const [NET_A, NET_B] = INTERNET_HOSTS;
const internet = new FakeInternet();
const dir = mkdtempSync(join(tmpdir(), 'warren-net-'));
const records = join(dir, 'records.json');
let server: TestServer;
let client: InstanceType<typeof Oblien>;

type Rt = InstanceType<typeof Runtime>;

async function runtimeFor(id: string): Promise<Rt> {
  await client.workspaces.network.update(id, { public_access: true });
  const { token } = await client.workspaces.apiAccess.enable(id);
  return new Runtime({ token, baseUrl: server.url });
}

/** curl from inside a workspace: body on success, `curl:<exit code>` on failure. */
async function curl(rt: Rt, url: string, headers: string[] = []): Promise<string> {
  const args = ['curl', '-sS', '--max-time', '2', ...headers.flatMap((h) => ['-H', h]), url];
  const res = await rt.exec.run(args);
  if (process.env.DEBUG_CURL) console.log(url, res.exit_code, res.stdout, res.stderr);
  return res.exit_code === 0 ? res.stdout.trim() : `curl:${res.exit_code}`;
}

async function eventually(fn: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

before(async () => {
  await ensureTestImages();
  await internet.setUp();
  await internet.startDns(records, { 'api.example.test': [NET_A], 'cdn.example.test': [NET_B] });
  server = await startServer({
    env: {
      WARREN_UPSTREAM: internet.upstream,
      WARREN_DNS_UPSTREAM: `${internet.farIp}:53`,
      WARREN_OUTBOUND_IPS: `${internet.poolIps[0]}=US,198.19.254.254=DE`,
      WARREN_DNS_MIN_TTL: '1',
    },
  });
  client = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: server.url });
});

after(async () => {
  await server?.stop();
  await internet.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('egress', () => {
  test('allow_internet (default) reaches the internet through NAT; off cuts it', async () => {
    const ws = await client.workspaces.create({ image: 'node-20', memory_mb: 256 });
    const rt = await runtimeFor(ws.id);
    assert.equal(await curl(rt, `http://${NET_A}/`), internet.hostIp, 'seen from the upstream address');
    assert.equal(await curl(rt, 'http://api.example.test/'), internet.hostIp, 'names resolve through Warren');
    await client.workspaces.network.update(ws.id, { allow_internet: false });
    assert.match(await curl(rt, `http://${NET_A}/`), /^curl:/);
    assert.match(await curl(rt, 'http://api.example.test/'), /^curl:/, 'no resolver either');
    await client.workspaces.delete(ws.id);
  });

  test('egress by CIDR and by host name, following a name whose address changes', async () => {
    const ws = await client.workspaces.create({ image: 'node-20', memory_mb: 256 });
    const rt = await runtimeFor(ws.id);
    await client.workspaces.network.update(ws.id, { egress: ['api.example.test'] });
    assert.match(await curl(rt, `http://${NET_A}/`), /^curl:/, 'an address is closed until the name is resolved');
    assert.equal(await curl(rt, 'http://api.example.test/'), internet.hostIp);
    assert.equal(await curl(rt, `http://${NET_A}/`), internet.hostIp, 'the resolved address is open');
    assert.match(await curl(rt, 'http://cdn.example.test/'), /^curl:/, 'another name stays closed');
    assert.match(await curl(rt, `http://${NET_B}/`), /^curl:/);
    // The name moves to the other host: the new address opens when answered, the old one closes after its TTL.
    writeFileSync(records, JSON.stringify({ 'api.example.test': [NET_B], 'cdn.example.test': [NET_B] }));
    assert.ok(await eventually(async () => (await curl(rt, 'http://api.example.test/')) === internet.hostIp));
    assert.ok(await eventually(async () => (await curl(rt, `http://${NET_A}/`)).startsWith('curl:')), 'old address expired');
    await client.workspaces.network.update(ws.id, { egress: [`${NET_A}/32`], egress_ports: [80] });
    assert.equal(await curl(rt, `http://${NET_A}/`), internet.hostIp);
    assert.match(await curl(rt, `http://${NET_B}/`), /^curl:/);
    writeFileSync(records, JSON.stringify({ 'api.example.test': [NET_A], 'cdn.example.test': [NET_B] }));
    await client.workspaces.delete(ws.id);
  });

  test('outbound IPs: the pool, the documented errors, SNAT seen by the internet host', async () => {
    const zone = await api(server, 'GET', '/zone/mine');
    assert.deepEqual(zone.body.proxies, [{ ip: internet.poolIps[0], country_code: 'US' }, { ip: '198.19.254.254', country_code: 'DE' }]);
    const ws = await client.workspaces.create({ image: 'node-20', memory_mb: 256 });
    const rt = await runtimeFor(ws.id);
    const post = (body: unknown) => api(server, 'POST', `/workspace/${ws.id}/network/ip`, body);
    assert.equal((await post({})).body.code, 'ip_required');
    assert.equal((await post({ ip: '203.0.113.99' })).status, 400);
    assert.equal((await post({ ip: '203.0.113.99' })).body.code, 'invalid_zone_ip');
    const missing = await post({ ip: '198.19.254.254' });
    assert.deepEqual([missing.status, missing.body.code], [422, 'zone_missing_host']);
    const applied = await client.workspaces.network.applyOutboundIp(ws.id, { ip: internet.poolIps[0]! });
    assert.equal((applied as any).ip, internet.poolIps[0]);
    assert.equal(await curl(rt, `http://${NET_A}/`), internet.poolIps[0]);
    assert.equal((await client.workspaces.network.get(ws.id)).outbound_ip, internet.poolIps[0]);
    await client.workspaces.delete(ws.id);
  });
});

describe('restart', () => {
  test('the policy is enforced again after a SIGKILL of the server', async () => {
    const ws = await client.workspaces.create({ image: 'node-20', memory_mb: 256 });
    const rt = await runtimeFor(ws.id);
    await client.workspaces.network.update(ws.id, { egress: [`${NET_A}/32`] });
    await server.kill();
    await server.restart();
    assert.equal(await curl(rt, `http://${NET_A}/`), internet.hostIp, 'allowed before, allowed after');
    assert.match(await curl(rt, `http://${NET_B}/`), /^curl:/, 'refused before, refused after');
    await client.workspaces.delete(ws.id);
  });
});

describe('private links and direct access', () => {
  test('linked caller reaches the target agent with its raw token; unlinked is refused by the firewall', async () => {
    const caller = await client.workspaces.create({ image: 'node-20', memory_mb: 256, name: 'caller' });
    const target = await client.workspaces.create({ image: 'node-20', memory_mb: 256, name: 'target' });
    const callerRt = await runtimeFor(caller.id);
    const targetRt = await runtimeFor(target.id);
    const raw = (await api(server, 'GET', `/workspace/${target.id}/runtime-api-access/token/raw`)).body;
    const callerRaw = (await api(server, 'GET', `/workspace/${caller.id}/runtime-api-access/token/raw`)).body;
    const url = `http://${raw.ip}:9990/runtime`;
    const status = (token: string) => curl(callerRt, url, [`Authorization: Bearer ${token}`, 'Accept: application/json'])
      .then((body) => (body.startsWith('curl:') ? body : body.includes('"success":false') ? 'refused' : 'ok'));

    assert.equal(await status(raw.token), 'curl:28', 'no link: the firewall drops it (timeout)');
    const linked = await client.workspaces.network.update(target.id, { private_link_ids: [caller.id, 'ws_nope'] });
    assert.deepEqual((linked as any).private_link_ids, [caller.id], 'only resolvable ids are kept');
    const net = await client.workspaces.network.get(target.id);
    assert.deepEqual(net.private_links?.map((l: any) => [l.id, l.ip, l.name]), [[caller.id, callerRaw.ip, 'caller']]);
    assert.equal(await status(raw.token), 'ok');
    assert.equal(await status(callerRaw.token), 'refused', "another workspace's token is refused by the agent");
    // One-directional: the target cannot reach the caller.
    assert.match(await curl(targetRt, `http://${callerRaw.ip}:9990/runtime`, [`Authorization: Bearer ${callerRaw.token}`]), /^curl:/);
    await client.workspaces.network.update(target.id, { private_link_ids: [] });
    assert.equal(await status(raw.token), 'curl:28', 'removing the link cuts access');

    // A deleted workspace leaves every link that named it.
    await client.workspaces.network.update(target.id, { private_link_ids: [caller.id] });
    await client.workspaces.delete(caller.id);
    assert.ok(await eventually(async () => (await client.workspaces.network.get(target.id)).private_links?.length === 0));
    await client.workspaces.delete(target.id);
  });

  test('code inside a workspace cannot change the rules', async () => {
    const ws = await client.workspaces.create({ image: 'node-20', memory_mb: 256 });
    const rt = await runtimeFor(ws.id);
    await client.workspaces.network.update(ws.id, { egress: [`${NET_A}/32`] });
    // Every way a root process could reach netfilter or routing from inside: all refused.
    const tries = [
      ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'],
      ['sh', '-c', 'ip link set eth0 down 2>&1 || busybox ip link set eth0 down'],
      ['node', '-e', "require('child_process').execFileSync('nsenter', ['-t', '1', '-n', 'true'])"],
      ['unshare', '-n', 'true'],
    ];
    for (const cmd of tries) assert.notEqual((await rt.exec.run(cmd)).exit_code, 0, cmd.join(' '));
    // The host's own nft binary (with its libraries) run as root inside the workspace.
    const kit = join(dir, 'nft-kit');
    mkdirSync(kit, { recursive: true });
    const libs = execFileSync('ldd', ['/usr/sbin/nft'], { encoding: 'utf8' }).split('\n')
      .map((l) => /(\/\S+\.so[.\d]*)/.exec(l)?.[1]).filter((x): x is string => !!x);
    for (const f of ['/usr/sbin/nft', ...libs]) copyFileSync(f, join(kit, basename(f)));
    await rt.transfer.upload({ body: execFileSync('tar', ['-czf', '-', '-C', kit, '.'], { maxBuffer: 64 << 20 }), dest: '/tmp/nft' });
    const nft = (...args: string[]) => rt.exec.run(['/tmp/nft/ld-linux-x86-64.so.2', '--library-path', '/tmp/nft', '/tmp/nft/nft', ...args]);
    const list = await nft('list', 'ruleset');
    assert.doesNotMatch(list.stdout, /warren/, 'no Warren table is visible from inside');
    for (const attempt of [['flush', 'ruleset'], ['add', 'table', 'inet', 'mine'], ['delete', 'table', 'inet', `warren_${instanceIdFor(server.dataDir)}`]]) {
      const res = await nft(...attempt);
      assert.notEqual(res.exit_code, 0, `nft ${attempt.join(' ')}`);
      assert.match(res.stderr, /Operation not permitted|No such file|does not exist/i, res.stderr);
    }
    assert.match(await curl(rt, `http://${NET_B}/`), /^curl:/, 'the policy still holds');
    assert.equal(await curl(rt, `http://${NET_A}/`), internet.hostIp);
    await client.workspaces.delete(ws.id);
  });
});
