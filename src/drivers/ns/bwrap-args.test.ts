import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxSpec } from '../driver.js';
import { AGENT_COMMAND, bwrapArgs, sandboxEnv, PROC_MASKED_FILES, PROC_READ_ONLY } from './bwrap-args.js';

const spec: SandboxSpec = {
  id: 'ws_x', shortId: '0123abcd', hostname: 'box',
  image: { id: 'img', layers: ['/images/img'] },
  resources: { cpus: 1, memoryMb: 256, diskMb: 128, pids: 100 },
  env: { FOO: 'bar', PATH: '/custom/bin', WARREN_AGENT_PORT: '1', HOSTNAME: 'spoof' },
  network: { ip: '10.0.0.2', prefixLen: 24, gateway: '10.0.0.1', bridge: 'br' },
  agent: { port: 9990, bundleDir: '/opt/agent', runtimeDir: '/data/runtime/bundle', controlDir: '/data/ctl' },
  stateDir: '/data/ws/0123abcd',
};
const layout = {
  rootfs: '/data/ws/0123abcd/rootfs', infoFd: 3, seccompFd: 4,
  hostProcEntries: new Set(['sys', 'irq', 'bus', 'fs', 'keys', 'kcore', 'acpi']),
  agentHas: { nodeModules: true, packageJson: false },
};

const pairs = (args: string[], flag: string): string[][] =>
  args.flatMap((a, i) => (a === flag ? [[args[i + 1]!, args[i + 2]!]] : []));

test('namespaces, no capabilities, seccomp and info fds', () => {
  const a = bwrapArgs(spec, layout);
  for (const f of ['--unshare-pid', '--unshare-uts', '--unshare-ipc', '--unshare-cgroup-try', '--new-session', '--clearenv']) {
    assert.ok(a.includes(f), f);
  }
  assert.deepEqual(a.slice(a.indexOf('--cap-drop'), a.indexOf('--cap-drop') + 2), ['--cap-drop', 'ALL']);
  assert.equal(a[a.indexOf('--seccomp') + 1], '4');
  assert.equal(a[a.indexOf('--info-fd') + 1], '3');
  assert.ok(!a.includes('--die-with-parent'), 'sandbox must survive the server');
  assert.ok(!a.some((x) => x === '/sys'), 'no /sys inside');
});

test('host-wide /proc paths are read-only or masked, after --proc, only if present', () => {
  const a = bwrapArgs(spec, layout);
  const procAt = a.indexOf('--proc');
  const ro = pairs(a, '--ro-bind');
  for (const name of ['sys', 'irq', 'bus', 'fs']) {
    assert.ok(PROC_READ_ONLY.includes(name));
    assert.deepEqual(ro.find(([, d]) => d === `/proc/${name}`), [`/proc/${name}`, `/proc/${name}`]);
  }
  assert.deepEqual(ro.find(([, d]) => d === '/proc/keys'), ['/dev/null', '/proc/keys']);
  assert.ok(PROC_MASKED_FILES.includes('kcore'));
  assert.ok(!ro.some(([, d]) => d === '/proc/sysrq-trigger' || d === '/proc/timer_list'), 'absent entries skipped');
  assert.ok(a.indexOf('/proc/sys') > procAt);
  assert.equal(a[a.indexOf('/proc/acpi') + 1], '--remount-ro');
});

test('agent binds (code, runtime bundle, control dir) are read-only under a read-only /.warren', () => {
  const a = bwrapArgs(spec, layout);
  const ro = pairs(a, '--ro-bind');
  assert.deepEqual(ro.filter(([, d]) => d?.startsWith('/.warren')), [
    ['/opt/agent/dist', '/.warren/dist'],
    ['/opt/agent/node_modules', '/.warren/node_modules'],
    ['/data/runtime/bundle', '/.warren/runtime'],
    ['/data/ctl', '/.warren/control'],
  ]);
  assert.ok(a.indexOf('--remount-ro') < a.lastIndexOf('/.warren'));
  assert.deepEqual(pairs(a, '--bind'), [['/data/ws/0123abcd/rootfs', '/']]);
});

test('the agent runs on the Node of the runtime bundle; no host binary is bound on its own', () => {
  assert.deepEqual([...AGENT_COMMAND], ['/.warren/runtime/bin/node', '/.warren/dist/agent/main.bundle.mjs']);
  const a = bwrapArgs(spec, layout);
  assert.ok(!a.includes('/.warren/bin/node') && !a.includes('/.warren/bin/rg'));
  assert.ok(!a.some((x) => x.startsWith('/usr/')), 'nothing of the host /usr is bound');
});

test('no loader variables reach the sandbox: the bundle needs none, the programs of the image must not see them', () => {
  const env = sandboxEnv({ ...spec, env: {} });
  assert.ok(!env.some(([k]) => k.startsWith('LD_')), JSON.stringify(env));
});

test('environment: user values over defaults, platform values always win', () => {
  const env = Object.fromEntries(sandboxEnv(spec));
  assert.equal(env.PATH, '/custom/bin');
  assert.equal(env.HOME, '/root');
  assert.equal(env.FOO, 'bar');
  assert.equal(env.WARREN_AGENT_PORT, '9990');
  assert.equal(env.HOSTNAME, 'box');
  assert.throws(() => sandboxEnv({ ...spec, env: { 'A=B': 'x' } }), /invalid environment variable/);
  assert.throws(() => sandboxEnv({ ...spec, env: { A: 'x\0y' } }), /NUL/);
});

test('capabilities: all dropped, then only what sshd needs (setuid/setgid, chroot, port 22)', () => {
  const a = bwrapArgs(spec, layout);
  const added = a.flatMap((x, i) => (x === '--cap-add' ? [a[i + 1]!] : []));
  assert.deepEqual(added.sort(), ['CAP_NET_BIND_SERVICE', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SYS_CHROOT']);
  assert.ok(a.indexOf('--cap-drop') < a.indexOf('--cap-add'), 'ALL is dropped first');
});

test('the sshd bundle is bound read-only (when present) under the read-only /.warren', () => {
  assert.ok(!bwrapArgs(spec, layout).includes('/.warren/ssh'));
  const a = bwrapArgs({ ...spec, agent: { ...spec.agent, sshBundleDir: '/data/ssh/bundle' } }, layout);
  assert.deepEqual(pairs(a, '--ro-bind-try').find(([, d]) => d === '/.warren/ssh'), ['/data/ssh/bundle', '/.warren/ssh']);
  assert.ok(a.indexOf('/.warren/ssh') < a.lastIndexOf('--remount-ro'));
});
