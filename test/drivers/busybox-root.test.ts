/**
 * The agent brings its own runtime: a sandbox whose root holds only Debian's static
 * busybox (no glibc, no Node, no bash, no GNU tools; it even claims to be Alpine, so
 * node-pty would pick its musl addon) runs the real agent from the runtime bundle, and
 * its runtime API works through the official client: exec, files, search, transfer,
 * terminals, workloads. The bundle is read-only from inside. Bridge wtAb0 on
 * 10.231.0.192/26, driver instance random.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Runtime } from 'oblien';
import WebSocket from 'ws';
import { NsDriver } from '../../src/drivers/ns/driver.js';
import type { SandboxSpec } from '../../src/drivers/driver.js';
import { run } from '../../src/util/exec.js';
import { projectRoot } from '../../src/util/paths.js';
import { waitForAgent } from './agent-client.js';
import { AGENT_ENTRY_IN_BUNDLE, makeBridge, makeFixture, specFactory, withRuntime, type Fixture, type TestBridge, removeCgroupParents } from './harness.js';

const BUSYBOX = '/usr/bin/busybox'; // busybox-static (scripts/setup.sh)
const TOKEN = randomBytes(24).toString('hex');
const CONTROL_TOKEN = randomBytes(32).toString('hex');
const instanceId = randomBytes(2).toString('hex');
const driver = new NsDriver({ instanceId });
let fixture: Fixture;
let bridge: TestBridge;
let spec: SandboxSpec;
let rootfs: string;
let rt: InstanceType<typeof Runtime>;

/** A root of busybox alone: /bin/busybox and its applet links, /etc, /tmp, /root. */
async function busyboxRoot(dir: string): Promise<void> {
  for (const d of ['bin', 'etc', 'tmp', 'root']) await mkdir(join(dir, d), { recursive: true });
  await copyFile(BUSYBOX, join(dir, 'bin/busybox'));
  await chmod(join(dir, 'bin/busybox'), 0o755);
  await run('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin']);
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\ntty:x:5:\n');
  await writeFile(join(dir, 'etc/alpine-release'), '3.20.0\n');
  await chmod(join(dir, 'tmp'), 0o1777);
  await chmod(join(dir, 'root'), 0o700);
}

/** Every name under `dir` (recursively, links not followed). */
async function namesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map((p) => String(p).split('/').pop()!);
}

/** The real agent's control files: runtime token, control token, config. */
function writeControl(dir: string, s: SandboxSpec): void {
  writeFileSync(join(dir, 'token'), TOKEN);
  writeFileSync(join(dir, 'control-token'), CONTROL_TOKEN);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    workspace_id: s.id, hostname: s.hostname, env: {}, cmd: null, port: s.agent.port, workloads: [],
  }));
}

function agentUrl(path: string): string {
  return `http://${spec.network.ip}:${spec.agent.port}${path}`;
}

/** The internal API (`/_warren/*`) with the control token. */
async function internal(path: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(agentUrl(path), {
    ...init, headers: { authorization: `Bearer ${CONTROL_TOKEN}`, 'content-type': 'application/json' },
  });
  return res.json();
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

before(async () => {
  (globalThis as any).WebSocket ??= WebSocket;
  assert.ok(existsSync(BUSYBOX), 'busybox-static is not installed (scripts/setup.sh installs it)');
  assert.ok(existsSync(join(projectRoot(), AGENT_ENTRY_IN_BUNDLE)), 'build first: npm run build');
  const base = await withRuntime(makeFixture());
  fixture = { ...base, bundleDir: projectRoot() }; // the real agent, not the stand-in
  rootfs = join(fixture.root, 'busybox-root');
  await busyboxRoot(rootfs);
  bridge = await makeBridge('b0', '10.231.0.193', 26);
  spec = specFactory({ fixture, bridge, layers: [rootfs] })();
  writeControl(fixture.controlDir, spec);
  await driver.prepare();
  await driver.create(spec);
  await driver.start(spec);
  await waitForAgent(spec, 30_000);
  rt = new Runtime({ token: TOKEN, baseUrl: `http://${spec.network.ip}:${spec.agent.port}` });
});

after(async () => {
  if (spec) await driver.destroy(spec);
  await bridge?.remove();
  fixture?.cleanup();
  removeCgroupParents(instanceId);
});

describe('a root with busybox alone', () => {
  test('has no glibc, no loader, no Node and no bash: busybox is static', async () => {
    const names = await namesUnder(rootfs);
    for (const absent of [/^libc\.so/, /^ld-linux/, /^ld-musl/, /^node$/, /^bash$/, /^rg$/]) {
      assert.ok(!names.some((n) => absent.test(n)), `${absent} in the root`);
    }
    const ldd = spawnSync('ldd', [join(rootfs, 'bin/busybox')], { encoding: 'utf8' });
    assert.match(ldd.stdout + ldd.stderr, /not a dynamic executable/);
    const inside = await rt.exec.run(['sh', '-c', 'ls /lib /lib64 /usr/lib 2>&1; command -v node bash rg; echo end']);
    assert.match(inside.stdout, /^(ls: .*No such file or directory\n){3}end\n$/);
  });

  test('the agent runs on the bundle: its libc is the bundle\'s, and no loader variable reaches anyone', async () => {
    // The agent is the process running the bundle's node (bwrap, the sandbox's pid 1, names it too).
    const maps = await rt.exec.run(['sh', '-c', 'for p in /proc/[0-9]*; do '
      + 'if [ "$(readlink $p/exe)" = /.warren/runtime/bin/node ]; then grep -o "/[^ ]*libc.so.6" $p/maps; fi; done | sort -u']);
    assert.equal(maps.stdout, '/.warren/runtime/lib/libc.so.6\n');
    const env = await rt.exec.run(['env']);
    assert.equal(env.exit_code, 0);
    assert.doesNotMatch(env.stdout, /^LD_/m);
  });

  test('exec: direct and shell mode', async () => {
    const hi = await rt.exec.run(['echo', 'hi']);
    assert.equal(hi.stdout, 'hi\n');
    assert.equal(hi.exit_code, 0);
    const piped = await rt.exec.run('echo $((40+2)) | cat');
    assert.equal(piped.stdout, '42\n');
  });

  test('/runtime offers /bin/sh as the shell (no bash here)', async () => {
    const res = await fetch(agentUrl('/runtime'), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(((await res.json()) as { shell: string }).shell, '/bin/sh');
  });

  test('files: write and read back', async () => {
    const w = await rt.files.write({ fullPath: '/root/notes/a.txt', content: 'a needle in busybox\n', createDirs: true });
    assert.equal(w.size, 20);
    assert.equal((await rt.files.read({ filePath: '/root/notes/a.txt' })).content, 'a needle in busybox\n');
  });

  test('search: the bundle\'s ripgrep finds content', async () => {
    const status = await rt.search.status();
    assert.equal(status.installed, true);
    assert.equal(status.path, '/.warren/runtime/bin/rg');
    await rt.files.write({ fullPath: '/root/notes/b.txt', content: 'nothing\nanother needle\n' });
    const res = await rt.search.content({ query: 'needle', path: '/root/notes' });
    assert.equal(res.total_matches, 2);
    assert.deepEqual(res.results['b.txt'], [{ line_number: 2, line: 2, column: 9, text: 'another needle' }]);
  });

  test('transfer: the bundle\'s GNU tar and gzip pack and unpack', async () => {
    const up = await rt.transfer.upload({
      body: execFileSync('tar', ['-czf', '-', '-C', join(rootfs, 'etc'), 'passwd', 'group']), dest: '/root/pushed',
    });
    assert.equal(up.files_extracted, 2);
    assert.equal((await rt.files.read({ filePath: '/root/pushed/group' })).content, 'root:x:0:\ntty:x:5:\n');
    const res = await rt.transfer.download({ paths: ['/root/notes'] });
    assert.equal(res.status, 200);
    const archive = join(fixture.root, 'download.tar.gz');
    writeFileSync(archive, Buffer.from(await res.arrayBuffer()));
    assert.equal(execFileSync('tar', ['-xzOf', archive, 'root/notes/a.txt'], { encoding: 'utf8' }), 'a needle in busybox\n');
  });

  test('terminal: busybox sh in a pty from the bundle\'s glibc addon, despite /etc/alpine-release', async () => {
    const term: any = await rt.terminal.create({ cols: 80, rows: 24 });
    const output = new Map<string, string>();
    const exits: [string, number][] = [];
    const sock = rt.ws({ reconnect: false });
    sock
      .onTerminalOutput((id: string, data: Uint8Array) => output.set(id, (output.get(id) ?? '') + Buffer.from(data).toString()))
      .onTerminalExit((id: string, code: number) => exits.push([id, code]));
    const opened = new Promise<void>((r) => sock.onOpen(() => r()));
    sock.connect();
    await opened;
    try {
      sock.writeTerminalInput(term.id, 'echo typed-$((40+2)); readlink /proc/$$/exe\n');
      await eventually(() => /typed-42/.test(output.get(term.id) ?? ''), 'terminal echo');
      await eventually(() => /\/bin\/busybox/.test(output.get(term.id) ?? ''), 'the shell is busybox');
      sock.writeTerminalInput(term.id, 'exit 6\n');
      await eventually(() => exits.length > 0, 'terminal exit frame');
      assert.deepEqual(exits[0], [term.id, 6]);
    } finally {
      sock.close();
    }
    const maps = await rt.exec.run(['sh', '-c', 'cat /proc/[0-9]*/maps 2>/dev/null | grep -o "/[^ ]*pty[^ ]*node" | sort -u']);
    assert.equal(maps.stdout, '/.warren/runtime/addons/pty.node\n');
  });

  test('workloads: a busybox sh loop runs, its output reaches its log', async () => {
    const put = await internal('/_warren/workloads/wl_busybox000001', {
      method: 'PUT', body: JSON.stringify({ id: 'wl_busybox000001', name: 'loop', cmd: ['sh', '-c', 'echo from-workload; exec sleep 60'] }),
    });
    assert.equal(put.workload?.id, 'wl_busybox000001', JSON.stringify(put));
    await eventually(async () => ((await internal('/_warren/workloads/wl_busybox000001/logs')).entries ?? [])
      .some((e: any) => e.data === 'from-workload\n'), 'workload output');
    const list = await internal('/_warren/workloads');
    const mine = list.workloads?.find((w: any) => w.id === 'wl_busybox000001');
    assert.equal(mine?.status, 'running', JSON.stringify(list));
    await internal('/_warren/workloads/wl_busybox000001', { method: 'DELETE' });
  });

  test('the runtime bundle is read-only from inside', async () => {
    const node = join(fixture.runtimeDir!, 'bin/node');
    const before = sha256(node);
    const r = await rt.exec.run(['sh', '-c', 'echo x > /.warren/runtime/bin/node; echo a=$?; '
      + 'rm -f /.warren/runtime/bin/rg; echo b=$?; touch /.warren/runtime/new; echo c=$?; '
      + 'chmod 777 /.warren/runtime/bin/node; echo d=$?; mv /.warren/runtime/lib/libc.so.6 /tmp/; echo e=$?; '
      + 'mount -o remount,rw /.warren/runtime; echo f=$?']);
    assert.match(r.stdout, /^a=[1-9]\d*\nb=[1-9]\d*\nc=[1-9]\d*\nd=[1-9]\d*\ne=[1-9]\d*\nf=[1-9]\d*\n$/);
    assert.equal(sha256(node), before);
    assert.ok(existsSync(join(fixture.runtimeDir!, 'bin/rg')));
    assert.equal((await rt.exec.run(['echo', 'still-fine'])).stdout, 'still-fine\n');
  });
});
