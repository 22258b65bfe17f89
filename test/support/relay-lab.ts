/**
 * Test rig for the node relay: a network namespace of our own (`wr-<pid>-<hex>`) joined
 * to the host by a veth pair (`wrh<hex>` on the host, 10.250.<n>.1/28; the namespace
 * 10.250.<n>.2/28), and one Node process inside it standing for a sandbox: an HTTP
 * "agent" on 9990 (with a WebSocket echo), an SSH-like TCP echo on 22 that sends a
 * banner first, and an app on 3000. All traffic stays on that veth. `cleanup()` ends
 * the process by PID and removes the namespace and the veth; it never throws.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { run, tryRun } from '../../src/util/exec.js';
import { findConflicts, readHostAddresses, readHostRoutes } from '../../src/network/routes.js';

const wsPath = createRequire(import.meta.url).resolve('ws');

/** The sandbox process: prints "ready" once all three servers listen. */
const SANDBOX_JS = `
const http = require('http'), net = require('net');
const { WebSocketServer } = require(${JSON.stringify(wsPath)});
const agent = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'ok', method: req.method, url: req.url, body,
      authorization: req.headers.authorization || null, peerPort: req.socket.remotePort }));
  });
});
const wss = new WebSocketServer({ noServer: true });
agent.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
  ws.on('message', (m) => ws.send('echo:' + m));
}));
const ssh = net.createServer((s) => { s.on('error', () => {}); s.write('SSH-2.0-WarrenTest\\r\\n'); s.pipe(s); });
const app = http.createServer((req, res) => res.end('app:' + req.url));
let n = 0;
const up = () => { if (++n === 3) console.log('ready'); };
agent.listen(9990, '0.0.0.0', up); ssh.listen(22, '0.0.0.0', up); app.listen(3000, '0.0.0.0', up);
`;

export class RelayLab {
  readonly hex = randomBytes(2).toString('hex');
  readonly netns = `wr-${process.pid}-${this.hex}`;
  readonly hostIf = `wrh${this.hex}`;
  readonly nsIf = `wrn${this.hex}`;
  subnet = '';
  hostIp = '';
  sandboxIp = '';
  /** In the subnet, no sandbox there. */
  vacantIp = '';
  private child: ChildProcess | null = null;

  async setup(): Promise<void> {
    const [routes, addrs] = await Promise.all([readHostRoutes(), readHostAddresses()]);
    let base = '';
    for (let i = 0; i < 50 && !base; i++) {
      const candidate = `10.250.${1 + Math.floor(Math.random() * 254)}.${16 * Math.floor(Math.random() * 16)}`;
      if (findConflicts(`${candidate}/28`, this.hostIf, routes, addrs).length === 0) base = candidate;
    }
    if (!base) throw new Error('no free 10.250.x.y/28');
    const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
    this.subnet = `${base}/28`;
    this.hostIp = `${a}.${b}.${c}.${d + 1}`;
    this.sandboxIp = `${a}.${b}.${c}.${d + 2}`;
    this.vacantIp = `${a}.${b}.${c}.${d + 3}`;
    await run('ip', ['netns', 'add', this.netns]);
    await run('ip', ['link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', this.nsIf]);
    await run('ip', ['link', 'set', this.nsIf, 'netns', this.netns]);
    await run('ip', ['addr', 'add', `${this.hostIp}/28`, 'dev', this.hostIf]);
    await run('ip', ['link', 'set', this.hostIf, 'up']);
    const inNs = (...args: string[]) => run('ip', ['netns', 'exec', this.netns, ...args]);
    await inNs('ip', 'addr', 'add', `${this.sandboxIp}/28`, 'dev', this.nsIf);
    await inNs('ip', 'link', 'set', this.nsIf, 'up');
    await inNs('ip', 'link', 'set', 'lo', 'up');
    await this.startSandbox();
  }

  private startSandbox(): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.netns, process.execPath, '-e', SANDBOX_JS], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    return new Promise((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`sandbox did not start: ${err}`)), 15_000);
      child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sandbox exited ${code}: ${err}`));
      });
    });
  }

  async cleanup(): Promise<void> {
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch { /* gone */ }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    }
    await tryRun('ip', ['netns', 'del', this.netns]).catch(() => false);
    await tryRun('ip', ['link', 'del', this.hostIf]).catch(() => false);
  }
}
