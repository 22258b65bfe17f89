/**
 * A fake "internet" for egress tests: a network namespace of our own (`wtI-<hex>`)
 * joined to the root netns by a veth (`wtI<hex>` on the host side, a 198.18.x.y/30
 * link). Inside it, 198.51.100.10 and 203.0.113.10 (documentation ranges) answer on
 * port 80 (HTTP) and 81 (raw TCP) with the address they see the connection from, and an optional fake DNS
 * server listens on the link address. Warren's upstream is pointed at the veth, so
 * workspace traffic "leaves the host" into this namespace and nowhere else; the
 * host's own routes are never touched (only the connected /30 appears).
 *
 * `new FakeInternet({ inside: <netns> })` attaches it to another namespace instead of the
 * host (the fleet tests: an internet of one node's namespace): the near end of the veth,
 * its addresses and the upstream device then exist in that namespace only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { run, tryRun } from '../../src/util/exec.js';

export const INTERNET_HOSTS = ['198.51.100.10', '203.0.113.10'] as const;

/** Port answering raw TCP with the peer address (then closing). */
export const RAW_PORT = 81;

/** Each host answers HTTP on :80 and raw TCP on :81 with the peer address it sees. */
const WHOAMI_JS = `const hosts = JSON.parse(process.argv[1]);
const peer = (s) => s.remoteAddress.replace('::ffff:', '');
let n = 0;
const up = () => { if (++n === hosts.length * 2) console.log('ready'); };
for (const h of hosts) {
  require('http').createServer((q, r) => r.end(peer(q.socket))).listen(80, h, up);
  require('net').createServer((s) => { s.on('error', () => {}); s.end(peer(s)); }).listen(${RAW_PORT}, h, up);
}`;

export class FakeInternet {
  readonly hex = randomBytes(2).toString('hex');
  readonly netns = `wtI-${this.hex}`;
  readonly hostIf = `wtI${this.hex}`;
  /** Host side of the link (the address masquerade uses) and the far side (the next hop). */
  readonly hostIp: string;
  readonly farIp: string;
  /** Extra host addresses on the link, usable as outbound IPs. */
  readonly poolIps: string[];
  private readonly children = new Set<ChildProcess>();
  /** `ip` arguments that address the near end's namespace (none: the host's). */
  private readonly near: string[];

  constructor(opts: { inside?: string } = {}) {
    this.near = opts.inside ? ['-n', opts.inside] : [];
    const n = 1 + Math.floor(Math.random() * 250);
    this.hostIp = `198.18.${n}.1`;
    this.farIp = `198.18.${n}.2`;
    this.poolIps = [`198.19.${n}.5`, `198.19.${n}.6`];
  }

  /** `<device>@<next hop>` for WARREN_UPSTREAM / resolveUpstream. */
  get upstream(): string {
    return `${this.hostIf}@${this.farIp}`;
  }

  async setUp(): Promise<void> {
    await run('ip', ['netns', 'add', this.netns]);
    await run('ip', [...this.near, 'link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.netns]);
    await run('ip', [...this.near, 'addr', 'add', `${this.hostIp}/30`, 'dev', this.hostIf]);
    for (const ip of this.poolIps) await run('ip', [...this.near, 'addr', 'add', `${ip}/32`, 'dev', this.hostIf]);
    await run('ip', [...this.near, 'link', 'set', this.hostIf, 'up']);
    const ns = ['-n', this.netns];
    await run('ip', [...ns, 'addr', 'add', `${this.farIp}/30`, 'dev', 'eth0']);
    for (const h of INTERNET_HOSTS) await run('ip', [...ns, 'addr', 'add', `${h}/32`, 'dev', 'lo']);
    await run('ip', [...ns, 'link', 'set', 'lo', 'up']);
    await run('ip', [...ns, 'link', 'set', 'eth0', 'up']);
    // Replies (to the masquerade and pool addresses) go back over the link.
    await run('ip', [...ns, 'route', 'add', 'default', 'via', this.hostIp]);
    await this.spawnReady(['node', '-e', WHOAMI_JS, JSON.stringify(INTERNET_HOSTS)]);
  }

  /** Runs the fake DNS server (test/support/fake-dns.ts) on the link address, port 53. */
  async startDns(recordsFile: string, records: Record<string, unknown>): Promise<void> {
    writeFileSync(recordsFile, JSON.stringify(records));
    const script = new URL('../support/fake-dns.ts', import.meta.url).pathname;
    await this.spawnReady([process.execPath, '--import', 'tsx', script, '--listen', `${this.farIp}:53`, '--records', recordsFile]);
  }

  private async spawnReady(cmd: string[]): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.netns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`not ready: ${cmd.join(' ')} ${err}`)), 20_000);
      child.stderr!.on('data', (d) => { err += d; });
      child.stdout!.on('data', (d) => {
        if (String(d).includes('ready')) (clearTimeout(timer), resolve());
      });
      child.on('exit', (code) => (clearTimeout(timer), reject(new Error(`${cmd.join(' ')} exited ${code}: ${err}`))));
    });
  }

  async cleanup(): Promise<void> {
    for (const child of this.children) if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    this.children.clear();
    await tryRun('ip', ['netns', 'del', this.netns]);
    await tryRun('ip', [...this.near, 'link', 'del', this.hostIf]);
  }
}
