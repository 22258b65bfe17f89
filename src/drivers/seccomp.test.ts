import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_NETLINK, AUDIT_ARCH_X86_64, BPF_AND_K, BPF_JEQ_K, BPF_JGE_K, BPF_JSET_K, BPF_LD_W_ABS, BPF_RET_K,
  DENIED_SYSCALLS, ENOSYS, EPERM, EPROTONOSUPPORT, NETLINK_AUDIT, OFF_ARCH, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS,
  SYSCALLS, buildSeccompProgram, encodeSeccompProgram, sandboxSeccompFilter, type SockFilter,
} from './seccomp.js';

interface Call {
  nr: number;
  arch?: number;
  args?: number[];
}

/** Minimal interpreter for the opcodes the generator emits; fails on anything else. */
function evaluate(prog: readonly SockFilter[], call: Call): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(call.nr, 0);
  data.writeUInt32LE(call.arch ?? AUDIT_ARCH_X86_64, 4);
  (call.args ?? []).forEach((a, i) => data.writeBigUInt64LE(BigInt(a), 16 + 8 * i));
  let acc = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const ins = prog[pc]!;
    switch (ins.code) {
      case BPF_LD_W_ABS: acc = data.readUInt32LE(ins.k); break;
      case BPF_AND_K: acc = (acc & ins.k) >>> 0; break;
      case BPF_JEQ_K: pc += acc === ins.k ? ins.jt : ins.jf; break;
      case BPF_JGE_K: pc += acc >= ins.k ? ins.jt : ins.jf; break;
      case BPF_JSET_K: pc += (acc & ins.k) !== 0 ? ins.jt : ins.jf; break;
      case BPF_RET_K: return ins.k >>> 0;
      default: throw new Error(`unexpected opcode ${ins.code}`);
    }
  }
  throw new Error('fell off the end of the program');
}

const prog = buildSeccompProgram();
const eperm = (SECCOMP_RET_ERRNO | EPERM) >>> 0;

test('checks the architecture first and kills foreign ones', () => {
  assert.deepEqual(prog[0], { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: OFF_ARCH });
  assert.equal(prog[1]!.code, BPF_JEQ_K);
  assert.equal(prog[1]!.k, AUDIT_ARCH_X86_64);
  assert.equal(evaluate(prog, { nr: SYSCALLS.unshare, arch: 0x40000003 /* i386 */ }), SECCOMP_RET_KILL_PROCESS);
  assert.equal(evaluate(prog, { nr: 0, arch: 0xc00000b7 /* aarch64 */ }), SECCOMP_RET_KILL_PROCESS);
});

test('every jump stays inside the program and it ends in a return', () => {
  prog.forEach((ins, pc) => {
    assert.ok(ins.jt <= 255 && ins.jf <= 255);
    if (![BPF_JEQ_K, BPF_JGE_K, BPF_JSET_K].includes(ins.code)) return;
    assert.ok(pc + 1 + ins.jt < prog.length, `jt out of range at ${pc}`);
    assert.ok(pc + 1 + ins.jf < prog.length, `jf out of range at ${pc}`);
  });
  assert.equal(prog.at(-1)!.code, BPF_RET_K);
  assert.ok(prog.length < 4096, 'BPF_MAXINSNS');
});

test('denied syscalls return EPERM, ordinary ones are allowed', () => {
  for (const name of DENIED_SYSCALLS) assert.equal(evaluate(prog, { nr: SYSCALLS[name] }), eperm, name);
  for (const nr of [0, 1, 2, 3, 9, 39, 57, 59, 60, 62, 231, 257]) {
    assert.equal(evaluate(prog, { nr }), SECCOMP_RET_ALLOW, `nr ${nr}`);
  }
});

test('x32 syscall numbers are refused', () => {
  assert.equal(evaluate(prog, { nr: 0x40000000 + SYSCALLS.unshare }), eperm);
  assert.equal(evaluate(prog, { nr: 0x40000000 }), eperm);
});

test('clone with namespace flags is refused; plain fork/thread clone allowed', () => {
  const SIGCHLD = 17;
  const THREAD = 0x003d0f00;
  assert.equal(evaluate(prog, { nr: SYSCALLS.clone, args: [SIGCHLD] }), SECCOMP_RET_ALLOW);
  assert.equal(evaluate(prog, { nr: SYSCALLS.clone, args: [THREAD] }), SECCOMP_RET_ALLOW);
  for (const flag of [0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000]) {
    assert.equal(evaluate(prog, { nr: SYSCALLS.clone, args: [SIGCHLD | flag] }), eperm, flag.toString(16));
  }
});

test('clone3 returns ENOSYS so libc falls back to clone', () => {
  assert.equal(evaluate(prog, { nr: SYSCALLS.clone3 }), (SECCOMP_RET_ERRNO | ENOSYS) >>> 0);
});

test('mknod of devices is refused, FIFOs allowed', () => {
  const dev = (mode: number): number => evaluate(prog, { nr: SYSCALLS.mknod, args: [0, mode, 0] });
  const devAt = (mode: number): number => evaluate(prog, { nr: SYSCALLS.mknodat, args: [0, 0, mode, 0] });
  assert.equal(dev(0o060600), eperm);
  assert.equal(dev(0o020600), eperm);
  assert.equal(dev(0o010600), SECCOMP_RET_ALLOW);
  assert.equal(devAt(0o060600), eperm);
  assert.equal(devAt(0o020666), eperm);
  assert.equal(devAt(0o010644), SECCOMP_RET_ALLOW);
  assert.equal(devAt(0o140755), SECCOMP_RET_ALLOW);
});

test('encodes 8 little-endian bytes per instruction', () => {
  const buf = encodeSeccompProgram([{ code: 0x15, jt: 1, jf: 2, k: 0xc000003e }]);
  assert.deepEqual([...buf], [0x15, 0x00, 1, 2, 0x3e, 0x00, 0x00, 0xc0]);
  assert.equal(sandboxSeccompFilter().length, prog.length * 8);
});

test('chroot is allowed (sshd privilege separation); the kernel audit socket is "not supported", other sockets work', () => {
  assert.equal(evaluate(prog, { nr: SYSCALLS.chroot }), SECCOMP_RET_ALLOW);
  const socket = (domain: number, type: number, protocol: number) => evaluate(prog, { nr: SYSCALLS.socket, args: [domain, type, protocol] });
  assert.equal(socket(AF_NETLINK, 3 /* SOCK_RAW */, NETLINK_AUDIT), (SECCOMP_RET_ERRNO | EPROTONOSUPPORT) >>> 0);
  assert.equal(socket(AF_NETLINK, 3 | 0x80000 /* SOCK_CLOEXEC */, NETLINK_AUDIT), (SECCOMP_RET_ERRNO | EPROTONOSUPPORT) >>> 0);
  assert.equal(socket(AF_NETLINK, 3, 0 /* NETLINK_ROUTE */), SECCOMP_RET_ALLOW);
  assert.equal(socket(2 /* AF_INET */, 1, 0), SECCOMP_RET_ALLOW);
  assert.equal(socket(1 /* AF_UNIX */, 1, NETLINK_AUDIT), SECCOMP_RET_ALLOW);
});
