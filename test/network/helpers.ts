/**
 * Test-only network lab for src/network integration tests: a Warren bridge of our own
 * (`wtD<hex>`, subnet 10.232.<n>.0/24), netns `wtD-<hex>-<x>` joined to it by veths
 * `wtD<hex><x>`, and tiny Node TCP servers/clients run inside the namespaces.
 * All traffic stays inside these namespaces and the host side of our bridge.
 * Everything created is recorded and removed by `cleanup()`, which never throws.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { run, tryRun } from '../../src/util/exec.js';
import { allocate, gatewayOf } from '../../src/network/addresses.js';
import { ensureBridge, removeBridge } from '../../src/network/bridge.js';
import { findConflicts, readHostAddresses, readHostRoutes } from '../../src/network/routes.js';

export function randomHex(): string {
  return randomBytes(2).toString('hex');
}

/** A 10.232.<n>.0/24 that no host route or address claims right now. */
export async function pickFreeSubnet(bridge: string): Promise<string> {
  const [routes, addrs] = await Promise.all([readHostRoutes(), readHostAddresses()]);
  for (let attempt = 0; attempt < 50; attempt++) {
    const subnet = `10.232.${1 + Math.floor(Math.random() * 254)}.0/24`;
    if (findConflicts(subnet, bridge, routes, addrs).length === 0) return subnet;
  }
  throw new Error('no free 10.232.x.0/24 subnet');
}

export interface Sandbox {
  name: string;
  netns: string;
  hostIf: string;
  ip: string;
}

export interface ConnectResult {
  ok: boolean;
  data?: string;
  error?: string;
}

/** Server: answers every connection with its label, then closes. Prints "ready" once listening. */
const SERVER_JS = `const [label, port, host] = JSON.parse(process.argv[1]);
require('net').createServer((s) => { s.on('error', () => {}); s.end(label); })
  .listen(port, host, () => console.log('ready'));`;

/** Client: one TCP connect with a deadline; prints {ok,data}|{ok:false,error} as JSON. */
const CLIENT_JS = `const [host, port, localAddress, timeoutMs] = JSON.parse(process.argv[1]);
let data = '';
const done = (r) => { console.log(JSON.stringify(r)); process.exit(0); };
const s = require('net').connect({ host, port, localAddress: localAddress || undefined });
s.setTimeout(timeoutMs, () => done({ ok: false, error: 'timeout' }));
s.on('data', (d) => { data += d; });
s.on('end', () => done({ ok: true, data }));
s.on('error', (e) => done({ ok: false, error: e.code || e.message }));`;

export class Lab {
  readonly hex = randomHex();
  readonly bridge = `wtD${this.hex}`;
  subnet = '';
  gateway = '';
  readonly sandboxes = new Map<string, Sandbox>();
  private readonly children = new Set<ChildProcess>();
  private readonly hostServers = new Set<net.Server>();

  async setUp(names: readonly string[]): Promise<void> {
    this.subnet = await pickFreeSubnet(this.bridge);
    this.gateway = gatewayOf(this.subnet);
    await ensureBridge(this.bridge, this.subnet);
    const used = new Set<string>();
    for (const name of names) {
      const sb: Sandbox = { name, netns: `wtD-${this.hex}-${name}`, hostIf: `wtD${this.hex}${name}`, ip: allocate(this.subnet, used) };
      used.add(sb.ip);
      this.sandboxes.set(name, sb);
      await this.plumb(sb);
    }
  }

  sb(name: string): Sandbox {
    const sb = this.sandboxes.get(name);
    if (!sb) throw new Error(`no sandbox ${name}`);
    return sb;
  }

  private async plumb(sb: Sandbox): Promise<void> {
    const prefix = this.subnet.split('/')[1]!;
    await run('ip', ['netns', 'add', sb.netns]);
    await run('ip', ['link', 'add', sb.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', sb.netns]);
    await run('ip', ['link', 'set', sb.hostIf, 'master', this.bridge, 'up']);
    await run('ip', ['-n', sb.netns, 'addr', 'add', `${sb.ip}/${prefix}`, 'dev', 'eth0']);
    await run('ip', ['-n', sb.netns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', sb.netns, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', sb.netns, 'route', 'add', 'default', 'via', this.gateway]);
  }

  /** Starts a labelled TCP server inside a sandbox on [::]:port; resolves when listening. */
  async serveIn(name: string, port: number, label = name): Promise<void> {
    // '::' is dual-stack: IPv4 and IPv6 (link-local) connections both land here.
    const child = spawn('ip', ['netns', 'exec', this.sb(name).netns, 'node', '-e', SERVER_JS, JSON.stringify([label, port, '::'])],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d) => { err += d; });
      child.stdout!.on('data', (d) => { if (String(d).includes('ready')) resolve(); });
      child.on('exit', (code) => reject(new Error(`server in ${name} exited ${code}: ${err}`)));
    });
  }

  /** The sandbox's IPv6 link-local address once DAD is done, as `fe80::…%eth0`. */
  async linkLocal(name: string): Promise<string> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const { stdout } = await run('ip', ['-j', '-6', '-n', this.sb(name).netns, 'addr', 'show', 'dev', 'eth0', 'scope', 'link']);
      const links = JSON.parse(stdout || '[]') as Array<{ addr_info?: Array<{ local: string; tentative?: boolean }> }>;
      const ready = links[0]?.addr_info?.find((a) => !a.tentative);
      if (ready) return `${ready.local}%eth0`;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no link-local address in ${name}`);
  }

  /** Starts a labelled TCP server in the test process on host:port (e.g. the bridge gateway). */
  async serveOnHost(host: string, port: number, label: string): Promise<void> {
    const server = net.createServer((s) => { s.on('error', () => {}); s.end(label); });
    this.hostServers.add(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  }

  /** One TCP connect from inside a sandbox (optionally from a given source address). */
  async connectFrom(name: string, host: string, port: number, opts: { localAddress?: string; timeoutMs?: number } = {}): Promise<ConnectResult> {
    const args = JSON.stringify([host, port, opts.localAddress ?? '', opts.timeoutMs ?? 1500]);
    const { stdout } = await run('ip', ['netns', 'exec', this.sb(name).netns, 'node', '-e', CLIENT_JS, args], { timeoutMs: 20_000 });
    return JSON.parse(stdout.trim()) as ConnectResult;
  }

  /** One TCP connect from the host (root netns). */
  connectFromHost(host: string, port: number, timeoutMs = 1500): Promise<ConnectResult> {
    return new Promise((resolve) => {
      let data = '';
      const s = net.connect({ host, port });
      const done = (r: ConnectResult) => { s.destroy(); resolve(r); };
      s.setTimeout(timeoutMs, () => done({ ok: false, error: 'timeout' }));
      s.on('data', (d) => { data += d; });
      s.on('end', () => done({ ok: true, data }));
      s.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, error: e.code ?? e.message }));
    });
  }

  /** Removes everything this lab created; safe to call twice and after partial set-up. */
  async cleanup(): Promise<void> {
    for (const child of this.children) if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    this.children.clear();
    for (const server of this.hostServers) server.close();
    this.hostServers.clear();
    for (const sb of this.sandboxes.values()) {
      await tryRun('ip', ['netns', 'del', sb.netns]);
      await tryRun('ip', ['link', 'del', sb.hostIf]);
    }
    await removeBridge(this.bridge).catch(() => {});
  }
}

/** Value of a named nft counter, or -1 when it does not exist. */
export async function counterPackets(family: string, table: string, name: string): Promise<number> {
  try {
    const { stdout } = await run('nft', ['-j', 'list', 'counter', family, table, name]);
    const doc = JSON.parse(stdout) as { nftables: Array<{ counter?: { packets: number } }> };
    return doc.nftables.find((o) => o.counter)?.counter?.packets ?? -1;
  } catch {
    return -1;
  }
}

/** `nft list table` text with counter values removed, for comparing rulesets. */
export async function tableText(family: string, table: string): Promise<string> {
  const { stdout } = await run('nft', ['list', 'table', family, table]);
  return stdout.replace(/packets \d+ bytes \d+/g, '');
}

export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await fn();
  return [value, Math.round((performance.now() - started) * 10) / 10];
}
