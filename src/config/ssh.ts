/**
 * The SSH jump host's settings (flags, or the environment variable in brackets):
 *   --ssh-port (WARREN_SSH_PORT)               port of the jump host; default 2222, 0 = no jump host
 *   --ssh-host (WARREN_SSH_HOST)               address it binds; default the API's --host
 *   --ssh-public-host (WARREN_SSH_PUBLIC_HOST) host name clients are told (`bastion`); default the host
 *                                              of --public-url, else the API's host (0.0.0.0 → 127.0.0.1)
 *   WARREN_SSH_MAX_PER_SOURCE                  concurrent jump connections per source address (default 32)
 */
import type { Flags } from './load.js';
import { loadHttpLimits } from './limits.js';

export const DEFAULT_SSH_PORT = 2222;

export interface SshConfig {
  port: number;
  host: string;
  publicHost: string;
  maxPerSource: number;
  /** A jump connection must finish its handshake within this, else it is dropped (src/config/limits.ts). */
  handshakeTimeoutMs: number;
}

type Pick = (flags: Flags, flag: string, env: string) => string | undefined;

function intIn(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${what} must be an integer ${min}–${max}, got ${JSON.stringify(text)}`);
  return n;
}

export function loadSshConfig(flags: Flags, pick: Pick, apiHost: string, publicUrl: string | undefined): SshConfig {
  const port = intIn(pick(flags, 'ssh-port', 'WARREN_SSH_PORT') ?? String(DEFAULT_SSH_PORT), 'WARREN_SSH_PORT', 0, 65535);
  let fromUrl: string | undefined;
  if (publicUrl) {
    try {
      fromUrl = new URL(publicUrl).hostname || undefined;
    } catch {
      fromUrl = undefined;
    }
  }
  const publicHost = pick(flags, 'ssh-public-host', 'WARREN_SSH_PUBLIC_HOST') ?? fromUrl ?? (apiHost === '0.0.0.0' ? '127.0.0.1' : apiHost);
  if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(publicHost)) throw new Error(`WARREN_SSH_PUBLIC_HOST is not a host name: ${publicHost}`);
  return {
    port,
    host: pick(flags, 'ssh-host', 'WARREN_SSH_HOST') ?? apiHost,
    publicHost,
    handshakeTimeoutMs: loadHttpLimits().sshHandshakeTimeoutMs,
    maxPerSource: intIn(process.env.WARREN_SSH_MAX_PER_SOURCE || '32', 'WARREN_SSH_MAX_PER_SOURCE', 1, 10_000),
  };
}
