/**
 * SSH of a workspace (control-plane.md §7): status (with the connection command users run,
 * `ssh root@<ssh_id> -J root@<jump host>`), enable and disable, root's password and public
 * key. Enable answers `ssh_password` once when it made a fresh password.
 */
import { api } from './client.js';

export interface SshConnection {
  user: string;
  host: string;
  bastion: string;
  command: string;
  scp_upload?: string;
  scp_download?: string;
}

export interface SshStatus {
  ssh_enabled: boolean;
  supported?: boolean;
  auth_methods?: string[];
  password_auth_enabled?: boolean;
  ssh_id?: string;
  ssh_key_set?: boolean;
  connection?: SshConnection | null;
  /** Only in enable's answer, and only when a fresh password was made. */
  ssh_password?: string;
}

const base = (id: string) => `/workspace/${encodeURIComponent(id)}/ssh`;

export function getSsh(id: string, signal?: AbortSignal): Promise<SshStatus> {
  return api<SshStatus>('GET', base(id), { signal });
}

export function enableSsh(id: string): Promise<SshStatus> {
  return api<SshStatus>('POST', `${base(id)}/enable`);
}

export function disableSsh(id: string): Promise<SshStatus> {
  return api<SshStatus>('POST', `${base(id)}/disable`);
}

/** root's password (8–128 characters); passwords work again (ends key-only). */
export function setSshPassword(id: string, password: string): Promise<SshStatus> {
  return api<SshStatus>('POST', `${base(id)}/password`, { body: { password } });
}

/** root's one authorized key (an OpenSSH public key line); the workspace becomes key-only. */
export function setSshKey(id: string, publicKey: string): Promise<SshStatus> {
  return api<SshStatus>('POST', `${base(id)}/key`, { body: { public_key: publicKey } });
}
