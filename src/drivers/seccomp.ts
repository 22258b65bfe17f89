/**
 * Classic-BPF seccomp filter for namespace sandboxes (x86_64 only), generated in
 * pure TypeScript and handed to bwrap via `--seccomp FD`.
 *
 * Policy (code inside a sandbox runs as uid 0 and is hostile):
 *  - any architecture other than x86_64 → kill the process (no i386 / int 0x80 bypass);
 *  - x32 syscall numbers (nr ≥ 0x40000000) → EPERM (they alias the denied calls);
 *  - namespace, mount, kernel-module, kexec, keyring, bpf, perf, clock, swap, reboot … → EPERM;
 *  - clone with any CLONE_NEW* flag → EPERM; clone3 → ENOSYS so libc falls back to clone,
 *    whose flags (unlike clone3's struct) the filter can inspect;
 *  - mknod/mknodat of block or character devices → EPERM (FIFOs and sockets still work);
 *  - socket(AF_NETLINK, *, NETLINK_AUDIT) → EPROTONOSUPPORT: the kernel audit log is the host's, and
 *    software that audits logins (sshd) takes this as "no audit in this kernel" and goes on;
 *  - chroot is allowed (CAP_SYS_CHROOT, for sshd's privilege separation): the sandbox's root is
 *    pivot_root'ed with the old root unmounted, so no chroot can lead above it;
 *  - everything else → allow.
 */

/** One `struct sock_filter`: 8 bytes, little-endian. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const X32_SYSCALL_BIT = 0x40000000;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const EPERM = 1;
export const ENOSYS = 38;
export const EPROTONOSUPPORT = 93;
export const AF_NETLINK = 16;
export const NETLINK_AUDIT = 9;

// BPF opcodes (linux/filter.h).
export const BPF_LD_W_ABS = 0x20;
export const BPF_JEQ_K = 0x15;
export const BPF_JGE_K = 0x35;
export const BPF_JSET_K = 0x45;
export const BPF_AND_K = 0x54;
export const BPF_RET_K = 0x06;

/** Offsets inside `struct seccomp_data`. Arguments are u64; we read their low 32 bits (LE). */
export const OFF_NR = 0;
export const OFF_ARCH = 4;
export const argLowOffset = (i: number): number => 16 + 8 * i;

export const CLONE_NAMESPACE_FLAGS =
  0x00020000 | // CLONE_NEWNS
  0x02000000 | // CLONE_NEWCGROUP
  0x04000000 | // CLONE_NEWUTS
  0x08000000 | // CLONE_NEWIPC
  0x10000000 | // CLONE_NEWUSER
  0x20000000 | // CLONE_NEWPID
  0x40000000; // CLONE_NEWNET

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

/** x86_64 syscall numbers. */
export const SYSCALLS = {
  syslog: 103, mknod: 133, uselib: 134, pivot_root: 155, _sysctl: 156, chroot: 161, acct: 163,
  settimeofday: 164, mount: 165, umount2: 166, swapon: 167, swapoff: 168, reboot: 169,
  iopl: 172, ioperm: 173, create_module: 174, init_module: 175, delete_module: 176, quotactl: 179,
  lookup_dcookie: 212, clock_settime: 227, kexec_load: 246, add_key: 248, request_key: 249, keyctl: 250,
  mknodat: 259, unshare: 272, perf_event_open: 298, name_to_handle_at: 303, open_by_handle_at: 304,
  setns: 308, finit_module: 313, kexec_file_load: 320, bpf: 321, userfaultfd: 323,
  open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433,
  clone3: 435, mount_setattr: 442, clone: 56, socket: 41,
} as const;

/** Syscalls refused outright with EPERM. */
export const DENIED_SYSCALLS: readonly (keyof typeof SYSCALLS)[] = [
  'unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'open_by_handle_at', 'name_to_handle_at',
  'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'create_module',
  'bpf', 'perf_event_open', 'keyctl', 'add_key', 'request_key', 'reboot', 'swapon', 'swapoff', 'syslog',
  'acct', 'settimeofday', 'clock_settime', 'iopl', 'ioperm', 'userfaultfd', 'quotactl', 'lookup_dcookie',
  '_sysctl', 'uselib', 'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
];

const errno = (e: number): number => (SECCOMP_RET_ERRNO | e) >>> 0;

/** An instruction whose jump targets are label names, resolved by `assemble`. */
interface Pending {
  code: number;
  k: number;
  jt?: string;
  jf?: string;
  label?: string;
}

function assemble(items: Pending[]): SockFilter[] {
  const at = new Map<string, number>();
  items.forEach((it, i) => {
    if (it.label) at.set(it.label, i);
  });
  const target = (from: number, label: string | undefined): number => {
    if (label === undefined) return 0;
    const to = at.get(label);
    if (to === undefined) throw new Error(`seccomp: unknown label ${label}`);
    const off = to - from - 1;
    if (off < 0 || off > 255) throw new Error(`seccomp: jump to ${label} out of range (${off})`);
    return off;
  };
  return items.map((it, i) => ({ code: it.code, jt: target(i, it.jt), jf: target(i, it.jf), k: it.k >>> 0 }));
}

/** mknod-style check: `mode` argument in slot `arg`; device nodes → EPERM. */
function deviceNodeCheck(label: string, arg: number): Pending[] {
  return [
    { label, code: BPF_LD_W_ABS, k: argLowOffset(arg) },
    { code: BPF_AND_K, k: S_IFMT },
    { code: BPF_JEQ_K, k: S_IFCHR, jt: 'eperm' },
    { code: BPF_JEQ_K, k: S_IFBLK, jt: 'eperm', jf: 'allow' },
  ];
}

/** Builds the filter program (see the module comment for the policy). */
export function buildSeccompProgram(): SockFilter[] {
  const items: Pending[] = [
    { code: BPF_LD_W_ABS, k: OFF_ARCH },
    { code: BPF_JEQ_K, k: AUDIT_ARCH_X86_64, jt: 'arch_ok', jf: 'kill' },
    { label: 'arch_ok', code: BPF_LD_W_ABS, k: OFF_NR },
    { code: BPF_JGE_K, k: X32_SYSCALL_BIT, jt: 'eperm' },
  ];
  for (const name of DENIED_SYSCALLS) items.push({ code: BPF_JEQ_K, k: SYSCALLS[name], jt: 'eperm' });
  items.push(
    { code: BPF_JEQ_K, k: SYSCALLS.clone3, jt: 'enosys' },
    { code: BPF_JEQ_K, k: SYSCALLS.clone, jt: 'clone' },
    { code: BPF_JEQ_K, k: SYSCALLS.socket, jt: 'socket' },
    { code: BPF_JEQ_K, k: SYSCALLS.mknod, jt: 'mknod' },
    { code: BPF_JEQ_K, k: SYSCALLS.mknodat, jt: 'mknodat', jf: 'allow' },
    { label: 'clone', code: BPF_LD_W_ABS, k: argLowOffset(0) },
    { code: BPF_JSET_K, k: CLONE_NAMESPACE_FLAGS, jt: 'eperm', jf: 'allow' },
    { label: 'socket', code: BPF_LD_W_ABS, k: argLowOffset(0) },
    { code: BPF_JEQ_K, k: AF_NETLINK, jf: 'allow' },
    { code: BPF_LD_W_ABS, k: argLowOffset(2) },
    { code: BPF_JEQ_K, k: NETLINK_AUDIT, jt: 'noproto', jf: 'allow' },
    ...deviceNodeCheck('mknod', 1),
    ...deviceNodeCheck('mknodat', 2),
    { label: 'allow', code: BPF_RET_K, k: SECCOMP_RET_ALLOW },
    { label: 'eperm', code: BPF_RET_K, k: errno(EPERM) },
    { label: 'enosys', code: BPF_RET_K, k: errno(ENOSYS) },
    { label: 'noproto', code: BPF_RET_K, k: errno(EPROTONOSUPPORT) },
    { label: 'kill', code: BPF_RET_K, k: SECCOMP_RET_KILL_PROCESS },
  );
  return assemble(items);
}

/** Serialises a program as the kernel's `struct sock_filter[]` (what bwrap --seccomp reads). */
export function encodeSeccompProgram(program: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(ins.jt, i * 8 + 2);
    buf.writeUInt8(ins.jf, i * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buf;
}

let cached: Buffer | undefined;

/** The encoded sandbox filter (built once per process). */
export function sandboxSeccompFilter(): Buffer {
  cached ??= encodeSeccompProgram(buildSeccompProgram());
  return cached;
}
