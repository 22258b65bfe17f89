/**
 * What the host tells a workspace's agent about SSH (dependency-free: the agent imports
 * it). The same document is the control file `ssh.json` the agent reads at boot and the
 * body of `PUT /_warren/ssh` (control token) for a change while it runs. The host builds
 * it (src/domain/ssh.ts); the agent checks it again (src/agent/ssh/config.ts).
 */

/** Control file, beside config.json in the read-only control directory (mode 0600). */
export const SSH_CONTROL_FILE = 'ssh.json';
/** The agent's internal route: GET → status, PUT → apply this document. */
export const SSH_INTERNAL_PATH = '/_warren/ssh';
/** sshd listens on the workspace's private address, this port only. */
export const WORKSPACE_SSH_PORT = 22;

export interface SshAgentConfig {
  /** false: no sshd runs; every session it spawned is ended at once. The other fields are then absent. */
  enabled: boolean;
  /** The workspace's private IPv4 address. */
  listen?: string;
  /** sha512-crypt hash written as root's password in /etc/shadow; null: root's password is left as it is. */
  password_hash?: string | null;
  /** false: key-only (PasswordAuthentication no, PermitRootLogin prohibit-password). */
  password_auth?: boolean;
  /** OpenSSH public key lines root accepts. */
  authorized_keys?: string[];
  /** Host private keys (OpenSSH format), stable for the workspace. */
  host_keys?: string[];
}

/** The agent's answer: whether sshd runs, and why not when it should. */
export interface SshAgentStatus {
  enabled: boolean;
  running: boolean;
  pid: number | null;
  /** `sshd_missing` (no bundle at /.warren/ssh) or `sshd_failed` (it exited at start); null when fine. */
  error: string | null;
}
