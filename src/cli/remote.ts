/**
 * The `warren` command's way to a running server for what only the server can do (a
 * workspace's files, the workspaces that use an image): the admin API key from
 * WARREN_ADMIN_CLIENT_ID / WARREN_ADMIN_CLIENT_SECRET, else `<data-dir>/admin-credentials.json`
 * (written at the first start); the address from `--url` / WARREN_URL, else this host's port.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WarrenConfig } from '../config/config.js';

export interface Remote {
  call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
}

/** The admin API key this command uses. */
export function adminCredentials(cfg: WarrenConfig): { id: string; secret: string } {
  const id = process.env.WARREN_ADMIN_CLIENT_ID;
  const secret = process.env.WARREN_ADMIN_CLIENT_SECRET;
  if (id && secret) return { id, secret };
  try {
    const f = JSON.parse(readFileSync(join(cfg.dataDir, 'admin-credentials.json'), 'utf8')) as { client_id: string; client_secret: string };
    return { id: f.client_id, secret: f.client_secret };
  } catch {
    throw new Error('no admin key: set WARREN_ADMIN_CLIENT_ID and WARREN_ADMIN_CLIENT_SECRET, or run on the server with its --data-dir');
  }
}

/** The server's address: `--url`, WARREN_URL, else this host's port. */
export function serverUrl(cfg: WarrenConfig, url = process.env.WARREN_URL): string {
  return (url ?? `http://127.0.0.1:${cfg.port}`).replace(/\/$/, '');
}

export function remote(cfg: WarrenConfig, url = process.env.WARREN_URL): Remote {
  const base = serverUrl(cfg, url);
  const creds = adminCredentials(cfg);
  return {
    async call(method, path, body) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'x-client-id': creds.id, 'x-client-secret': creds.secret },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = await res.json().catch(() => ({})) as Record<string, unknown>;
      if (!res.ok) throw new Error(`${String(json.code ?? res.status)}: ${String(json.message ?? res.statusText)}`);
      return json;
    },
  };
}
