/**
 * Server secrets kept in the database, for control-plane replicas sharing one PostgreSQL
 * store (issue 16): every replica must sign and verify with the same gateway key and
 * POST /tokens key ring and present the same SSH jump host key. They live in the store's
 * `settings` table under `secret.*` keys, created once across replicas starting together
 * (insert-if-absent, then read back: the first writer wins and everyone uses its value).
 *
 * A single host (SQLite) keeps its secrets in data-dir files (secret-files.ts, key-ring.ts,
 * ssh/host-key.ts), which `warren backup` copies; the composition root picks one or the other.
 */
import { randomBytes } from 'node:crypto';
import type { KeyRingPort, SigningKey } from '../domain/ports.js';
import type { Store } from '../store/store.js';
import { isKey } from './key-ring.js';

export const SECRET_SETTINGS = {
  gatewaySigningKey: 'secret.gateway-signing-key',
  accessKeyRing: 'secret.access-keys',
  sshJumpHostKey: 'secret.ssh-jump-host-key',
  /** The cluster key of node tokens (src/node/node-tokens.ts): replicas sign, node daemons verify. */
  nodeTokenKey: 'secret.node-token-key',
} as const;

type SettingsStore = Pick<Store, 'getSetting' | 'setSetting' | 'setSettingIfAbsent'>;

/** `bytes` random bytes under `key` (base64), made by the first replica to ask. */
export async function sharedKeyBytes(store: SettingsStore, key: string, bytes: number): Promise<Buffer> {
  const stored = Buffer.from(await store.setSettingIfAbsent(key, randomBytes(bytes).toString('base64')), 'base64');
  if (stored.length < bytes) throw new Error(`setting ${key} holds ${stored.length} bytes, expected at least ${bytes}`);
  return stored;
}

/**
 * A text secret under `key`, made by `make` when absent. A stored value `usable` rejects is
 * an error, not replaced: replicas replacing it at once would each keep a different one.
 */
export async function sharedText(store: SettingsStore, key: string, make: () => string, usable: (v: string) => boolean): Promise<string> {
  const stored = await store.setSettingIfAbsent(key, make());
  if (!usable(stored)) throw new Error(`setting ${key} holds an unusable value; delete the row to regenerate it`);
  return stored;
}

/** The POST /tokens key ring as one JSON setting: every replica reads and writes the same ring. */
export class KeyRingSetting implements KeyRingPort {
  constructor(private readonly store: SettingsStore, private readonly key: string = SECRET_SETTINGS.accessKeyRing) {}

  async load(): Promise<SigningKey[] | null> {
    const text = await this.store.getSetting(this.key);
    return text === null ? null : this.parse(text);
  }

  async save(keys: SigningKey[]): Promise<void> {
    await this.store.setSetting(this.key, JSON.stringify({ keys }));
  }

  async create(keys: SigningKey[]): Promise<SigningKey[]> {
    return this.parse(await this.store.setSettingIfAbsent(this.key, JSON.stringify({ keys })));
  }

  private parse(text: string): SigningKey[] {
    const data = JSON.parse(text) as { keys?: unknown };
    if (!Array.isArray(data.keys) || !data.keys.every(isKey)) throw new Error(`signing key ring in setting ${this.key} is malformed`);
    return data.keys;
  }
}
