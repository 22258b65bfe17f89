/**
 * What a backup of a single-host (SQLite) data dir holds, and what it leaves out.
 *
 * In a backup: the database (`warren.db`, copied with SQLite's online backup API, so a
 * consistent snapshot even while the server writes) and the small control-plane files
 * whose contents the database's rows depend on:
 * - `secrets/gateway-signing.key`: signs the gateway's runtime tokens (src/server-host.ts);
 *   without it every workspace token the database holds stops verifying.
 * - `secrets/access-keys.json`: the key ring of scoped access tokens (src/storage/key-ring.ts).
 * - `secrets/ssh-jump-host-ed25519.key`: the SSH jump host's key (src/ssh/host-key.ts), so
 *   clients keep trusting the host they learned.
 * - `admin-credentials.json`: the generated admin key of a first start (src/domain/auth.ts).
 * - `prices.json`: the operator's price table, if any (src/config/usage.ts).
 *
 * Left out (large, rebuilt, or facts of one host): workspace disks and sandbox state
 * (`workspaces/`), layers, snapshots' data and archives (`archives/`, the storage pool),
 * images (`images/`), the built runtime and SSH bundles (`runtime/`, `ssh/`), the storage
 * mode (`storage.json`) and upstream forwarding state (`network-state.json`).
 */

/** The database file, relative to the data dir. */
export const DATABASE_FILE = 'warren.db';

/** SQLite's companions of a WAL database; moved aside with it, never copied. */
export const DATABASE_COMPANIONS = ['warren.db-wal', 'warren.db-shm'];

/** Control-plane files copied when present, relative to the data dir. */
export const CONTROL_FILES: readonly string[] = [
  'secrets/gateway-signing.key',
  'secrets/access-keys.json',
  'secrets/ssh-jump-host-ed25519.key',
  'admin-credentials.json',
  'prices.json',
];

/** One line each for `--help` and the README. */
export const BACKUP_HOLDS = 'warren.db, secrets/ (gateway signing key, access-token key ring, SSH jump host key), '
  + 'admin-credentials.json, prices.json';
export const BACKUP_OMITS = 'workspace disks, layers, snapshots\' data, archives, images, the storage pool and built bundles';
