/**
 * Compiled network policy against the real kernel: three sandboxes (netns + veth) on a
 * bridge of our own, a fake internet namespace as the upstream, real nft tables and
 * real TCP. Each test sets the policies, applies the compiled rules and connects.
 * Run as root: node --import tsx --test test/network/policy.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { run, tryRun } from '../../src/util/exec.js';
import { Firewall } from '../../src/network/firewall.js';
import { compile, PolicyCompiler, type PolicySubject, type PolicyView } from '../../src/network/policy.js';
import { installUpstream, removeUpstream } from '../../src/network/upstream.js';
import { Lab } from './helpers.js';
import { FakeInternet, INTERNET_HOSTS, RAW_PORT as RAW } from './internet.js';

const AGENT = 9990;
const APP = 8080;
const [NET_A, NET_B] = INTERNET_HOSTS;
const lab = new Lab();
const internet = new FakeInternet();
let fw: Firewall;
const compiler = new PolicyCompiler();

function policy(p: Partial<PolicyView> = {}): PolicyView {
  return {
    allow_internet: true, public_access: false, ingress: [], ingress_ports: [], egress: [], egress_ports: [],
    outbound_ip: null, ...p,
  };
}

type Setup = Partial<Record<'a' | 'b' | 'c', Partial<PolicyView> & { links?: Array<'a' | 'b' | 'c'> }>>;

/** Applies the policies of all three sandboxes (unlisted ones get the defaults). */
async function apply(setup: Setup, exposures: Array<{ name: 'a' | 'b' | 'c'; port: number }> = []) {
  const subjects: PolicySubject[] = (['a', 'b', 'c'] as const).map((name) => {
    const { links = [], ...p } = setup[name] ?? {};
    return { id: name, ip: lab.sb(name).ip, policy: policy(p), linkSources: links.map((l) => lab.sb(l).ip), resolved: [] };
  });
  // Through the incremental compiler, as the server does: the firewall gets only the changes.
  const { rules, changes } = compiler.update({
    subjects, outbound: true, exposures: exposures.map((e) => ({ ip: lab.sb(e.name).ip, port: e.port })),
  });
  assert.deepEqual(rules, compile({ subjects, outbound: true, exposures: exposures.map((e) => ({ ip: lab.sb(e.name).ip, port: e.port })) }));
  return fw.applyRules(rules, changes);
}

const reach = async (from: 'a' | 'b' | 'c', host: string, port: number) => (await lab.connectFrom(from, host, port, { timeoutMs: 800 })).ok;

before(async () => {
  await lab.setUp(['a', 'b', 'c']);
  await internet.setUp();
  fw = new Firewall({ instanceId: lab.hex, bridge: lab.bridge, subnet: lab.subnet, upstream: internet.hostIf, guardUpstream: true });
  await fw.ensure();
  for (const name of ['a', 'b', 'c']) {
    await fw.register(lab.sb(name));
    await lab.serveIn(name, AGENT);
    await lab.serveIn(name, APP, `${name}-app`);
  }
  await installUpstream(lab.bridge, lab.hex, { device: internet.hostIf, via: internet.farIp });
});

after(async () => {
  await fw?.destroy().catch(() => {});
  await removeUpstream(lab.bridge, lab.hex).catch(() => {});
  await internet.cleanup();
  await lab.cleanup();
});

test('defaults: internet through NAT (seen from the upstream address), workspaces dark to each other', async () => {
  await apply({});
  assert.deepEqual(await lab.connectFrom('a', NET_A, RAW), { ok: true, data: internet.hostIp });
  assert.equal(await reach('a', lab.sb('b').ip, AGENT), false);
  assert.equal(await reach('a', lab.gateway, 53), false, 'no resolver port without one running');
});

test('egress by CIDR and by port; allow_internet off', async () => {
  await apply({ a: { egress: [`${NET_A}/32`] }, b: { egress_ports: [443] }, c: { allow_internet: false } });
  assert.equal(await reach('a', NET_A, RAW), true);
  assert.equal(await reach('a', NET_B, RAW), false);
  assert.equal(await reach('b', NET_A, RAW), false, 'port not in egress_ports');
  assert.equal(await reach('c', NET_A, RAW), false);
  await apply({ b: { egress_ports: [RAW] } });
  assert.equal(await reach('b', NET_B, RAW), true);
});

test('ingress by source and port', async () => {
  await apply({ b: { ingress: [lab.sb('a').ip], ingress_ports: [AGENT] }, a: { egress: [lab.sb('b').ip] } });
  assert.equal(await reach('a', lab.sb('b').ip, AGENT), true);
  assert.equal(await reach('a', lab.sb('b').ip, APP), false, 'port not admitted');
  assert.equal(await reach('c', lab.sb('b').ip, AGENT), false, 'source not admitted');
});

test('a private link is one-directional and opens only what the target admits', async () => {
  await apply({ b: { links: ['a'] } });
  assert.equal(await reach('a', lab.sb('b').ip, AGENT), true);
  assert.equal(await reach('a', lab.sb('b').ip, APP), true, 'no ingress_ports: every port');
  assert.equal(await reach('b', lab.sb('a').ip, AGENT), false, 'reverse direction');
  assert.equal(await reach('c', lab.sb('b').ip, AGENT), false, 'unlinked workspace');
  await apply({ b: { links: ['a'], ingress_ports: [AGENT] } });
  assert.equal(await reach('a', lab.sb('b').ip, APP), false);
  assert.equal(await reach('a', lab.sb('b').ip, AGENT), true);
  await apply({});
  assert.equal(await reach('a', lab.sb('b').ip, AGENT), false, 'removing the link cuts access');
});

test('host access: agent port always, other ports by public_access × ingress_ports or exposure', async () => {
  await apply({ a: { public_access: true, ingress_ports: [APP] } });
  assert.equal((await lab.connectFromHost(lab.sb('a').ip, APP)).ok, true);
  assert.equal((await lab.connectFromHost(lab.sb('b').ip, APP, 800)).ok, false);
  assert.equal((await lab.connectFromHost(lab.sb('b').ip, AGENT)).ok, true);
  await apply({}, [{ name: 'b', port: APP }]);
  assert.equal((await lab.connectFromHost(lab.sb('b').ip, APP)).ok, true, 'exposed port');
  assert.equal((await lab.connectFromHost(lab.sb('a').ip, APP, 800)).ok, false, 'public_access off again');
});

test('an outbound IP SNATs only that workspace', async () => {
  const [pool] = internet.poolIps;
  await apply({ a: { outbound_ip: pool! } });
  assert.deepEqual(await lab.connectFrom('a', NET_A, RAW), { ok: true, data: pool });
  assert.deepEqual(await lab.connectFrom('b', NET_A, RAW), { ok: true, data: internet.hostIp });
  await apply({});
  assert.deepEqual(await lab.connectFrom('a', NET_A, RAW), { ok: true, data: internet.hostIp });
});

/** A connection from `from` to host:port that echoes a byte every 100 ms; resolves "cut" when it stops. */
function liveConnection(from: 'a', host: string, port: number) {
  const js = `const s = require('net').connect(${port}, ${JSON.stringify(host)});
let last = Date.now(); s.on('data', () => { last = Date.now(); });
s.on('connect', () => { console.log('open'); setInterval(() => { s.write('x'); if (Date.now() - last > 1000) { console.log('cut'); process.exit(0); } }, 100); });
s.on('error', () => { console.log('cut'); process.exit(0); });`;
  const child = spawn('ip', ['netns', 'exec', lab.sb(from).netns, 'node', '-e', js], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  const seen = (word: string) => new Promise<void>((resolve) => {
    const check = () => (out.includes(word) ? resolve() : undefined);
    child.stdout!.on('data', (d) => ((out += d), check()));
    check();
  });
  return { child, opened: seen('open'), cut: seen('cut'), get text() { return out; } };
}

test('revoking a link cuts a live connection on its next packets; unrelated changes do not', async () => {
  const echo = `require('net').createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(7000, () => console.log('ready'));`;
  const server = spawn('ip', ['netns', 'exec', lab.sb('b').netns, 'node', '-e', echo], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => server.stdout!.once('data', r));
  try {
    await apply({ b: { links: ['a'] } });
    const conn = liveConnection('a', lab.sb('b').ip, 7000);
    await conn.opened;
    await apply({ b: { links: ['a'] }, c: { allow_internet: false } }); // unrelated change
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(conn.text, /cut/, 'an unrelated change leaves the flow alone');
    const t0 = Date.now();
    const result = await apply({});
    const cut = await result.flowsCut;
    assert.ok(cut >= 1, `flows cut: ${cut}`);
    await conn.cut;
    assert.ok(Date.now() - t0 < 3000);
    conn.child.kill('SIGKILL');
  } finally {
    server.kill('SIGKILL');
  }
});

test('after ensure() empties the policy sets, the next apply puts the whole policy back, not only its change', async () => {
  await apply({ b: { links: ['a'] } });
  assert.equal(await reach('a', lab.sb('b').ip, AGENT), true);
  await fw.ensure();
  // The compiler reports only c's change, an addition the kernel would take without complaint.
  await apply({ b: { links: ['a'] }, c: { public_access: true } });
  assert.equal(await reach('a', lab.sb('b').ip, AGENT), true, 'the link is back');
  assert.equal(await reach('a', NET_A, RAW), true, 'the internet is back');
});

test('the rules live in the root namespace: a workspace netns holds no table to flush', async () => {
  const { stdout } = await run('ip', ['netns', 'exec', lab.sb('a').netns, 'nft', 'list', 'ruleset']);
  assert.equal(stdout.trim(), '');
  // Even root in the workspace's netns (more than a workspace has: it has no capabilities)
  // flushing its own ruleset changes nothing that enforces its policy.
  await run('ip', ['netns', 'exec', lab.sb('a').netns, 'nft', 'flush', 'ruleset']);
  await apply({ a: { allow_internet: false } });
  assert.equal(await reach('a', NET_A, RAW), false);
});

/** Waits up to `ms` for one UDP datagram in `netns` on addr:9; true if one came. */
function udpArrives(netns: string, addr: string, ms: number): { ready: Promise<void>; arrived: Promise<boolean> } {
  const js = `const s = require('dgram').createSocket('udp4'); s.on('message', () => { console.log('got'); process.exit(0); });
s.bind(9, ${JSON.stringify(addr)}, () => console.log('ready')); setTimeout(() => process.exit(0), ${ms});`;
  const child = spawn('ip', ['netns', 'exec', netns, 'node', '-e', js], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  const ready = new Promise<void>((r) => child.stdout!.on('data', (d) => { out += d; if (out.includes('ready')) r(); }));
  const arrived = new Promise<boolean>((r) => child.on('exit', () => r(out.includes('got'))));
  return { ready, arrived };
}

test('the upstream device forwards only towards the workspaces (its forwarding is ours)', async () => {
  const ns = `wtE-${lab.hex}`;
  const hostIf = `wtE${lab.hex}`;
  const [hostSide, nsSide] = [internet.hostIp.replace(/\.1$/, '.9'), internet.hostIp.replace(/\.1$/, '.10')];
  const send = `require('dgram').createSocket('udp4').send('x', 9, ${JSON.stringify(nsSide)}, () => process.exit(0))`;
  try {
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run('ip', ['addr', 'add', `${hostSide}/30`, 'dev', hostIf]);
    await run('ip', ['link', 'set', hostIf, 'up']);
    await run('ip', ['-n', ns, 'addr', 'add', `${nsSide}/30`, 'dev', 'eth0']);
    await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    const tryOnce = async () => {
      const probe = udpArrives(ns, nsSide, 1500);
      await probe.ready;
      await run('ip', ['netns', 'exec', internet.netns, 'node', '-e', send]);
      return probe.arrived;
    };
    assert.equal(await tryOnce(), false, 'guarded: the host does not route upstream traffic elsewhere');
    // Control: the same firewall without the guard lets it through, so the guard is what stopped it.
    await new Firewall({ instanceId: lab.hex, bridge: lab.bridge, subnet: lab.subnet, upstream: internet.hostIf }).ensure();
    assert.equal(await tryOnce(), true, 'unguarded control');
  } finally {
    await fw.ensure();
    await tryRun('ip', ['netns', 'del', ns]);
    await tryRun('ip', ['link', 'del', hostIf]);
  }
});
