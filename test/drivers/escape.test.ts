/**
 * Escape attempts from inside a namespace sandbox. The code inside runs as uid 0 and is
 * hostile; every way out tried here MUST fail. Commands run through the test agent (the
 * same path workspace code takes). Kernel objects: bridge wtAe0 on 10.231.0.128/26.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname as hostHostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NsDriver } from '../../src/drivers/ns/driver.js';
import { SandboxNames } from '../../src/drivers/ns/names.js';
import { DENIED_SYSCALLS, SYSCALLS } from '../../src/drivers/seccomp.js';
import type { SandboxSpec } from '../../src/drivers/driver.js';
import { run } from '../../src/util/exec.js';
import { execIn, shIn, waitForAgent } from './agent-client.js';
import { AGENT_ENTRY_IN_BUNDLE, makeBridge, makeFixture, specFactory, withRuntime, type Fixture, type TestBridge, removeCgroupParents } from './harness.js';
import { AGENT_ENTRY } from '../../src/drivers/ns/bwrap-args.js';
import { testLayers } from './rootfs.js';

const EPERM = 1;
const ENOSYS = 38;
const instanceId = randomBytes(2).toString('hex');
const driver = new NsDriver({ instanceId });
let fixture: Fixture;
let bridge: TestBridge;
let spec: SandboxSpec;
let secretDir: string;
let hostSleeper: ChildProcess;
const secret = `wtA-secret-${randomBytes(8).toString('hex')}`;

/** Runs a perl program inside (perl-base is part of every Debian rootfs). */
function perl(code: string, ...args: string[]) {
  return execIn(spec, ['perl', '-e', code, ...args]);
}

/** `nr errno` per line for each syscall number given, all arguments zero. */
const SYSCALL_PROBE = 'for my $nr (@ARGV) { $! = 0; my $r = syscall($nr + 0, 0, 0, 0, 0, 0); '
  + 'printf "%d %d %d\\n", $nr, $r, $! + 0 }';

before(async () => {
  fixture = await withRuntime(makeFixture());
  bridge = await makeBridge('e0', '10.231.0.129', 26);
  secretDir = mkdtempSync(join(tmpdir(), 'wtA-server-data-'));
  writeFileSync(join(secretDir, 'secret.txt'), `${secret}\n`);
  spec = specFactory({ fixture, bridge, layers: await testLayers() })();
  await driver.prepare();
  await driver.create(spec);
  await driver.start(spec);
  await waitForAgent(spec);
  hostSleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
});

after(async () => {
  hostSleeper?.kill('SIGKILL');
  if (spec) await driver.destroy(spec);
  await bridge?.remove();
  fixture?.cleanup();
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
  removeCgroupParents(instanceId);
});

describe('host-wide kernel files', () => {
  test('control: plain bwrap as root leaves /proc/sys writable (why the hardening exists)', async () => {
    // Opens for append without writing a byte: harmless even though it succeeds.
    const r = await run('bwrap', ['--unshare-pid', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev',
      '--cap-drop', 'ALL', '/bin/sh', '-c', ': >> /proc/sys/kernel/core_pattern && echo writable']);
    assert.equal(r.stdout, 'writable\n');
  });

  test('kernel.core_pattern cannot be written', async () => {
    const before = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
    const r = await shIn(spec, 'echo "|/tmp/pwn %p" > /proc/sys/kernel/core_pattern; echo rc=$?');
    assert.match(r.stdout, /rc=[1-9]/);
    assert.match(r.stderr, /Read-only file system/);
    assert.equal(readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), before);
  });

  test('no file under /proc/sys can even be opened for writing', async () => {
    const r = await shIn(spec, 'n=0; for f in $(find /proc/sys -type f 2>/dev/null); do n=$((n+1)); '
      + '(: >> "$f") 2>/dev/null && echo "WRITABLE $f"; done; echo "checked $n"', 60_000);
    assert.doesNotMatch(r.stdout, /WRITABLE/);
    assert.ok(Number(/checked (\d+)/.exec(r.stdout)?.[1]) > 500, 'too few /proc/sys files checked');
  });

  test('sysrq-trigger and other top-level /proc files are not writable; kernel internals masked', async () => {
    const r = await shIn(spec, 'for f in /proc/*; do [ -f "$f" ] && (: >> "$f") 2>/dev/null && echo "WRITABLE $f"; done; '
      + 'for d in /proc/irq /proc/bus /proc/fs; do [ -d "$d" ] && touch "$d/x" 2>/dev/null && echo "WRITABLE $d"; done; '
      + 'cat /proc/keys 2>/dev/null | wc -c; cat /proc/timer_list 2>/dev/null | wc -c; ls /proc/acpi | wc -l; echo done');
    assert.doesNotMatch(r.stdout, /WRITABLE/);
    assert.match(r.stdout, /^0\n0\n0\ndone\n$/);
  });

  test('/proc/sys/net shows the sandbox\'s own network namespace', async () => {
    const r = await shIn(spec, 'ls /proc/sys/net/ipv4/conf');
    assert.match(r.stdout, /eth0/);
    assert.doesNotMatch(r.stdout, new RegExp(bridge.name));
  });

  test('/sys holds only the sandbox\'s own cgroups, read-only; no cgroup file system reachable', async () => {
    const r = await shIn(spec, 'echo "sys:$(ls -A /sys)|$(ls /sys/fs/cgroup | tr "\\n" " ")"; mkdir -p /tmp/cg && mount -t cgroup -o memory none /tmp/cg; '
      + 'echo rc=$?; echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes; echo limit=$?; mkdir /sys/fs/cgroup/memory/child; echo child=$?; '
      + 'echo $$ > /sys/fs/cgroup/pids/cgroup.procs; echo procs=$?; touch /sys/x; echo sys=$?; '
      + 'ls /sys/fs/cgroup/memory | grep -c release_agent; cat /proc/self/cgroup');
    assert.match(r.stdout, /^sys:fs\|cpu cpuacct memory pids \n/, '/sys shows more than the cgroup views');
    assert.match(r.stdout, /rc=[1-9]\d*\nlimit=[1-9]\d*\nchild=[1-9]\d*\nprocs=[1-9]\d*\nsys=[1-9]\d*\n0\n/);
    assert.match(r.stdout, /freezer:\/\n/, 'cgroup namespace hides the host path');
  });

  test('the delegated workloads/ subtree stays under the sandbox\'s limits and leads nowhere else', async () => {
    const names = new SandboxNames(instanceId);
    const hostLimit = readFileSync(join(names.cgroupDir('memory', spec.shortId), 'memory.limit_in_bytes'), 'utf8').trim();
    const r = await shIn(spec, 'W=/sys/fs/cgroup/memory/workloads; mkdir $W/a $W/a/b && echo made; '
      + 'echo 99999999999999 > $W/a/memory.limit_in_bytes; echo $$ > $W/a/b/tasks && echo moved; '
      + 'echo $$ > /sys/fs/cgroup/memory/tasks; echo parent=$?; echo $$ > $W/../cgroup.procs; echo up=$?; '
      + 'ls -A $W/a | grep -c release_agent; cat $W/a/b/memory.use_hierarchy; '
      + 'perl -e \'$x = "a" x 400000000; print length($x) > 0 ? "" : ""\'; echo big=$?');
    assert.match(r.stdout, /made\nmoved\nparent=[1-9]\d*\nup=[1-9]\d*\n0\n1\n/);
    assert.ok(Number(hostLimit) < 400_000_000, `the test needs a sandbox limit below 400 MB, not ${hostLimit}`);
    assert.match(r.stdout, /big=(137|1)\n/, 'a child group escaped the sandbox memory limit');
    assert.equal(readFileSync(join(names.cgroupDir('memory', spec.shortId), 'memory.limit_in_bytes'), 'utf8').trim(), hostLimit);
  });
});

describe('namespaces, mounts and privileged syscalls', () => {
  test('mount of proc / tmpfs / bind fails', async () => {
    const r = await shIn(spec, 'mkdir -p /tmp/m; mount -t proc proc /tmp/m; echo a=$?; mount -t tmpfs none /tmp/m; '
      + 'echo b=$?; mount --bind / /tmp/m; echo c=$?; mount -o remount,rw /.warren; echo d=$?');
    assert.match(r.stdout, /a=[1-9]\d*\nb=[1-9]\d*\nc=[1-9]\d*\nd=[1-9]\d*\n/);
  });

  test('unshare -U / -n / -m / -p fails', async () => {
    for (const flag of ['-U', '-n', '-m', '-p', '-Ur', '-C', '-i', '-u']) {
      const r = await execIn(spec, ['unshare', flag, '--', '/bin/true']);
      assert.notEqual(r.code, 0, `unshare ${flag} succeeded`);
    }
  });

  test('nsenter into any namespace fails; no host netns files are visible', async () => {
    for (const args of [['-t', '1', '-a', '/bin/true'], ['--net=/proc/1/ns/net', '/bin/true'], ['-t', '1', '-m', '/bin/true']]) {
      assert.notEqual((await execIn(spec, ['nsenter', ...args])).code, 0, `nsenter ${args.join(' ')}`);
    }
    assert.notEqual((await execIn(spec, ['ls', '/run/netns'])).code, 0);
  });

  test('every denied syscall returns EPERM (seccomp, end to end)', async () => {
    const nrs = DENIED_SYSCALLS.map((n) => String(SYSCALLS[n]));
    const r = await perl(SYSCALL_PROBE, ...nrs);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, nrs.length, r.stderr);
    for (const line of lines) {
      const [nr, ret, errno] = line.split(' ').map(Number);
      assert.equal(ret, -1, `syscall ${nr} succeeded`);
      assert.equal(errno, EPERM, `syscall ${nr} errno ${errno}`);
    }
  });

  test('clone with CLONE_NEWUSER/NEWNS/NEWNET fails; clone3 is ENOSYS; plain fork works', async () => {
    const code = 'for my $f (0x10000000, 0x20000, 0x40000000, 0x20000000) { $! = 0; '
      + 'my $r = syscall(56, $f | 17, 0, 0, 0, 0); exit 0 if $r == 0; printf "%d %d\\n", $r, $! + 0 } '
      + '$! = 0; printf "%d %d\\n", syscall(435, 0, 0), $! + 0; my $p = fork(); exit 0 if $p == 0; '
      + 'waitpid($p, 0); print "fork ok\\n"';
    const r = await perl(code);
    assert.equal(r.stdout, `-1 ${EPERM}\n`.repeat(4) + `-1 ${ENOSYS}\nfork ok\n`);
  });

  test('chroot (kept for sshd) cannot lead above the sandbox\'s own root', async () => {
    // The classic escape: chroot into a subdirectory, walk up past it, chroot to where the walk ended.
    const marker = `/root/wtA-marker-${randomBytes(4).toString('hex')}`;
    await shIn(spec, `touch ${marker}`);
    const p = await perl('mkdir "/tmp/j"; chroot("/tmp/j") or die "chroot: $!"; chdir("..") for 1..64; '
      + 'chroot(".") or die "chroot2: $!"; chdir("/"); '
      + 'printf "marker=%d host=%d data=%d\\n", (-e $ARGV[0]) ? 1 : 0, (-e $ARGV[1]) ? 1 : 0, (-e $ARGV[2]) ? 1 : 0',
    marker, fixture.root, secretDir);
    assert.equal(p.stdout, 'marker=1 host=0 data=0\n', p.stderr);
  });

  test('the kept capabilities lead nowhere: any uid or group still sees only the sandbox', async () => {
    const p = await perl('use POSIX; POSIX::setgid(6) or die "setgid: $!"; $) = "6 6"; POSIX::setuid(1000) or die "setuid: $!"; '
      + 'printf "uid=%d gid=%d ", $<, $(; print((-e $ARGV[0]) ? "data " : "nodata "); '
      + 'print((kill 0, $ARGV[1]) ? "hostproc " : "nohostproc "); print(open(my $f, ">", "/.warren/x") ? "warren\\n" : "nowarren\\n")',
    secretDir, String(hostSleeper.pid));
    assert.equal(p.stdout, 'uid=1000 gid=6 nodata nohostproc nowarren\n', p.stderr);
    const disk = await shIn(spec, 'ls /dev | grep -E "^(sd|vd|nvme|loop|dm-)" ; echo done');
    assert.equal(disk.stdout, 'done\n', 'group disk (6) finds no device to open');
  });

  test('kernel modules cannot be loaded or removed', async () => {
    const r = await perl(SYSCALL_PROBE, String(SYSCALLS.init_module), String(SYSCALLS.finit_module),
      String(SYSCALLS.delete_module));
    assert.equal(r.stdout, [175, 313, 176].map((n) => `${n} -1 ${EPERM}\n`).join(''));
  });

  test('reboot fails (magic + CAD_OFF, harmless even if it were allowed)', async () => {
    const r = await perl('$! = 0; my $r = syscall(169, 0xfee1dead, 672274793, 0, 0); printf "%d %d\\n", $r, $! + 0');
    assert.equal(r.stdout, `-1 ${EPERM}\n`);
  });

  test('every sandbox process has only the sshd capabilities, no-new-privs and the seccomp filter', async () => {
    // CAP_SETGID (6), CAP_SETUID (7), CAP_NET_BIND_SERVICE (10), CAP_SYS_CHROOT (18): 0x404c0.
    const r = await shIn(spec, 'for s in /proc/[0-9]*/status; do grep -hE "^(CapEff|CapPrm|NoNewPrivs|Seccomp):" "$s" '
      + '| tr "\\n" " "; echo; done');
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.length >= 2);
    // bwrap's own init (pid 1) keeps none; every other process exactly these.
    for (const l of lines) assert.match(l, /CapPrm:\s+0+(404c0)? CapEff:\s+0+(404c0)? NoNewPrivs:\s+1 Seccomp:\s+2/, l);
    assert.ok(lines.filter((l) => l.includes('404c0')).length >= lines.length - 1, r.stdout);
  });
});

describe('devices, files and processes of the host', () => {
  test('mknod of block and character devices fails; FIFOs still work', async () => {
    const r = await shIn(spec, 'mknod /root/vda b 254 0; echo a=$?; mknod /root/mem c 1 1; echo b=$?; '
      + 'mkfifo /root/fifo && echo fifo-ok');
    assert.match(r.stdout, /a=[1-9]\d*\nb=[1-9]\d*\nfifo-ok\n/);
  });

  test('no host disks: /dev holds only the minimal set', async () => {
    const r = await shIn(spec, 'ls /dev | tr "\\n" " "; echo; cat /dev/vda 2>&1 | head -c 100; head -c1 /dev/loop0 2>&1');
    const entries = r.stdout.split('\n')[0]!.trim().split(' ');
    for (const e of entries) {
      assert.ok(['core', 'fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty',
        'urandom', 'zero'].includes(e), `unexpected /dev/${e}`);
    }
    assert.match(r.stdout, /No such file or directory/);
  });

  test('host processes are invisible and cannot be killed', async () => {
    const pid = hostSleeper.pid!;
    const r = await shIn(spec, `ls -d /proc/[0-9]* | wc -l; kill -9 ${pid}; echo rc=$?; `
      + 'cat /proc/[0-9]*/cmdline | tr "\\0" " "');
    const count = Number(r.stdout.split('\n')[0]);
    assert.ok(count > 0 && count < 20, `sandbox sees ${count} processes`);
    assert.match(r.stdout, /rc=[1-9]/);
    assert.doesNotMatch(r.stdout, /sleep 600|--test|tsx/);
    assert.equal(hostSleeper.exitCode, null);
    assert.doesNotThrow(() => process.kill(pid, 0), 'host process was killed');
  });

  test('network configuration cannot be changed (no CAP_NET_ADMIN / NET_RAW)', async () => {
    const code = 'use Socket; socket(my $s, AF_INET, SOCK_DGRAM, 0) or die "socket: $!"; '
      + 'my $req = pack("a16 i x20", "eth0", 1280); print ioctl($s, 0x8922, $req) ? "mtu changed\\n" : "mtu ".($!+0)."\\n"; '
      + 'print socket(my $p, 17, 3, 0) ? "packet socket\\n" : "packet ".($!+0)."\\n"; '
      + 'print socket(my $r, AF_INET, 3, 1) ? "raw socket\\n" : "raw ".($!+0)."\\n";';
    const r = await perl(code);
    assert.equal(r.stdout, `mtu ${EPERM}\npacket ${EPERM}\nraw ${EPERM}\n`);
    const ip = await shIn(spec, 'command -v ip >/dev/null || exit 77; ip link set eth0 down; echo a=$?; '
      + 'ip addr add 10.231.0.190/26 dev eth0; echo b=$?; ip link add wtAx type dummy; echo c=$?');
    if (ip.code !== 77) assert.match(ip.stdout, /a=[1-9]\d*\nb=[1-9]\d*\nc=[1-9]\d*\n/);
    const inside = await run('ip', ['-n', `warren-${instanceId}-${spec.shortId}`, '-o', 'addr', 'show', 'eth0']);
    assert.match(inside.stdout, new RegExp(`inet ${spec.network.ip.replace(/\./g, '\\.')}/26`));
    assert.doesNotMatch(inside.stdout, /10\.231\.0\.190/);
    assert.match((await run('ip', ['-n', `warren-${instanceId}-${spec.shortId}`, 'link', 'show', 'eth0'])).stdout, /mtu 1500/);
  });

  test('/.warren (agent code, runtime bundle, control files) is read-only', async () => {
    const original = readFileSync(join(fixture.bundleDir, AGENT_ENTRY_IN_BUNDLE), 'utf8');
    const r = await shIn(spec, 'touch /.warren/x; echo a=$?; echo hacked >> ' + AGENT_ENTRY + '; echo b=$?; '
      + 'rm -f /.warren/runtime/bin/node; echo c=$?; touch /.warren/control/x; echo d=$?; '
      + 'echo t > /.warren/control/token; echo e=$?; echo x > /.warren/runtime/lib/libc.so.6; echo f=$?');
    assert.match(r.stdout, /a=[1-9]\d*\nb=[1-9]\d*\nc=[1-9]\d*\nd=[1-9]\d*\ne=[1-9]\d*\nf=[1-9]\d*\n/);
    assert.equal(readFileSync(join(fixture.bundleDir, AGENT_ENTRY_IN_BUNDLE), 'utf8'), original);
    assert.equal(readFileSync(join(fixture.controlDir, 'token'), 'utf8'), 'test-token\n');
  });

  test('the server\'s data directory and secrets are unreachable', async () => {
    const r = await shIn(spec, `find / -xdev -path /proc -prune -o -name 'wtA-server-data-*' -print 2>/dev/null; `
      + `grep -rsl --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev ${secret} / ; `
      + 'cat /proc/1/cmdline | tr "\\0" " "', 120_000);
    assert.doesNotMatch(r.stdout, new RegExp(secret));
    assert.notEqual((await execIn(spec, ['ls', secretDir])).code, 0, 'server data dir visible');
    assert.doesNotMatch(r.stdout, /wtA-server-data-/);
    assert.doesNotMatch(r.stdout, new RegExp(fixture.root), 'host paths leak through /proc/1/cmdline');
  });

  test('sethostname fails and never reaches the host', async () => {
    const before = hostHostname();
    const r = await shIn(spec, 'hostname evil-host; echo rc=$?; hostname');
    assert.match(r.stdout, new RegExp(`rc=[1-9]\\d*\\n${spec.hostname}\\n`));
    assert.equal(hostHostname(), before);
  });
});
