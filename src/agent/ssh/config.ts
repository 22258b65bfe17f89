/**
 * The SSH document the host sends (src/contract/ssh-agent.ts), checked again here, and
 * the sshd_config the agent renders from it (pure; unit-tested). sshd listens on the
 * workspace's private address, port 22, only; privilege separation runs as the `sshd`
 * user in /run/sshd; no PAM; root is the one account; the SFTP subsystem (what modern
 * `scp` uses) is the bundled sftp-server.
 */
import { AppError } from '../../contract/errors.js';
import { WORKSPACE_SSH_PORT, type SshAgentConfig } from '../../contract/ssh-agent.js';

export const SSH_BUNDLE_DIR = '/.warren/ssh';
/** Where the agent keeps sshd's config, host keys and authorized_keys (tmpfs /run; mode 0700). */
export const SSH_RUN_DIR = '/run/warren-ssh';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HASH = /^\$6\$[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$/;
const KEY_LINE = /^[\x20-\x7e]{1,16384}$/;
const PRIVATE_KEY = /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n?$/;

function bad(field: string, message: string): never {
  throw new AppError('bad_request', message, { field });
}

function lines(v: unknown, field: string, shape: RegExp, max: number): string[] {
  if (!Array.isArray(v) || v.length > max || !v.every((x) => typeof x === 'string' && shape.test(x))) {
    bad(field, `${field} must be a list of at most ${max} well-formed entries`);
  }
  return v as string[];
}

/** The host's document, checked field by field (`bad_request` with the field otherwise). */
export function parseSshConfig(raw: unknown): SshAgentConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) bad('body', 'SSH config must be an object');
  const o = raw as Record<string, unknown>;
  if (typeof o.enabled !== 'boolean') bad('enabled', 'enabled must be a boolean');
  if (!o.enabled) return { enabled: false };
  if (typeof o.listen !== 'string' || !IPV4.test(o.listen)) bad('listen', 'listen must be an IPv4 address');
  const hash = o.password_hash ?? null;
  if (hash !== null && (typeof hash !== 'string' || !HASH.test(hash))) bad('password_hash', 'password_hash must be a $6$ hash');
  if (typeof o.password_auth !== 'boolean') bad('password_auth', 'password_auth must be a boolean');
  const hostKeys = lines(o.host_keys, 'host_keys', PRIVATE_KEY, 4);
  if (hostKeys.length === 0) bad('host_keys', 'at least one host key is needed');
  return {
    enabled: true,
    listen: o.listen,
    password_hash: hash as string | null,
    password_auth: o.password_auth,
    authorized_keys: lines(o.authorized_keys ?? [], 'authorized_keys', KEY_LINE, 64),
    host_keys: hostKeys,
  };
}

export interface SshdPaths {
  bundleDir: string;
  runDir: string;
}

export function hostKeyPath(paths: SshdPaths, i: number): string {
  return `${paths.runDir}/ssh_host_key_${i}`;
}

export function authorizedKeysPath(paths: SshdPaths): string {
  return `${paths.runDir}/authorized_keys`;
}

/** sshd_config for an enabled document (call parseSshConfig first). */
export function renderSshdConfig(c: SshAgentConfig, paths: SshdPaths): string {
  const passwords = c.password_auth === true;
  const out = [
    '# Written by the Warren agent at every SSH change; edits here are lost.',
    `ListenAddress ${c.listen}:${WORKSPACE_SSH_PORT}`,
    ...(c.host_keys ?? []).map((_, i) => `HostKey ${hostKeyPath(paths, i)}`),
    'PidFile none',
    'UsePAM no',
    'AllowUsers root',
    `PermitRootLogin ${passwords ? 'yes' : 'prohibit-password'}`,
    `PasswordAuthentication ${passwords ? 'yes' : 'no'}`,
    'PermitEmptyPasswords no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    `AuthorizedKeysFile ${authorizedKeysPath(paths)}`,
    // The key file lives on the agent's tmpfs (0600); the image's home permissions are the owner's business.
    'StrictModes no',
    `Subsystem sftp ${paths.bundleDir}/sftp-server`,
    'X11Forwarding no',
    'PermitTunnel no',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    'LoginGraceTime 30',
    'MaxAuthTries 6',
    'MaxStartups 10:30:60',
    'ClientAliveInterval 30',
    'ClientAliveCountMax 4',
    'LogLevel INFO',
  ];
  return `${out.join('\n')}\n`;
}
