/**
 * The accounts sshd needs inside the workspace, made when the image lacks them: the
 * privilege-separation user `sshd` (no login, home /run/sshd) and root's password in
 * /etc/shadow from the hash the host computed (the password itself never enters the
 * workspace). The text transforms are pure (unit-tested); `ensureAccounts` applies them.
 *
 * /etc/passwd and /etc/shadow are rewritten in place (same inode, owner and mode: the
 * sandbox has no CAP_CHOWN to give a new file the `shadow` group back).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const NOGROUP = 65534;
export const PRIVSEP_DIR = '/run/sshd';

function linesOf(text: string): string[] {
  const l = text.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

/** `passwd` with an `sshd` user added (first free uid 100–999) when it has none. */
export function withSshdUser(passwd: string): string {
  const rows = linesOf(passwd);
  if (rows.some((r) => r.startsWith('sshd:'))) return passwd;
  const used = new Set(rows.map((r) => Number(r.split(':')[2])));
  let uid = 100;
  while (used.has(uid) && uid < 999) uid++;
  return `${[...rows, `sshd:x:${uid}:${NOGROUP}::${PRIVSEP_DIR}:/usr/sbin/nologin`].join('\n')}\n`;
}

/**
 * `shadow` with root's password set to `hash` (the root line made when missing). With
 * `hash` null the password stays, except that a locked one (`!…`, which sshd also takes
 * as "no key login either") becomes `*` (no password, keys still work).
 */
export function withRootHash(shadow: string, hash: string | null, now = Date.now()): string {
  const days = Math.floor(now / 86_400_000);
  const rows = linesOf(shadow);
  const i = rows.findIndex((r) => r.startsWith('root:'));
  if (i === -1) {
    if (hash === null) return shadow;
    return `${[`root:${hash}:${days}:0:99999:7:::`, ...rows].join('\n')}\n`;
  }
  const f = rows[i]!.split(':');
  while (f.length < 9) f.push('');
  if (hash !== null) {
    f[1] = hash;
    f[2] = String(days);
  } else if (f[1]!.startsWith('!')) {
    f[1] = '*';
  } else {
    return shadow;
  }
  rows[i] = f.join(':');
  return `${rows.join('\n')}\n`;
}

/** The gid of group `tty` (pseudo-terminals belong to it), or null when the image has none. */
export function ttyGid(group: string): number | null {
  const row = linesOf(group).find((r) => r.startsWith('tty:'));
  const gid = Number(row?.split(':')[2]);
  return row && Number.isInteger(gid) && gid >= 0 ? gid : null;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Makes the sshd user, /run/sshd and root's password; returns the tty gid for sshd's start. */
export function ensureAccounts(etcDir: string, hash: string | null): number | null {
  const passwdPath = join(etcDir, 'passwd');
  const passwd = readText(passwdPath);
  const nextPasswd = withSshdUser(passwd);
  if (nextPasswd !== passwd) writeFileSync(passwdPath, nextPasswd, { mode: 0o644 });
  const shadowPath = join(etcDir, 'shadow');
  const shadow = readText(shadowPath);
  const nextShadow = withRootHash(shadow, hash);
  if (nextShadow !== shadow) writeFileSync(shadowPath, nextShadow, { mode: 0o600 });
  mkdirSync(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
  return ttyGid(readText(join(etcDir, 'group')));
}
