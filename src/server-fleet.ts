/**
 * Wiring shared by the two halves of a fleet (issue 16): the cluster's node-token key, and
 * what is made from it. Control replicas sign (node API calls, relay tunnels); node daemons
 * verify. The key is 32 random bytes in the database settings (`secret.node-token-key`),
 * made by whichever process asks first (src/storage/shared-secrets.ts), so a node and a
 * replica that never met agree on it through the database alone. Its key id is derived
 * from the key, so a rotated key (the row replaced) carries a new id.
 */
import { createHash } from 'node:crypto';
import type { WarrenConfig } from './config/config.js';
import type { Store } from './store/store.js';
import { SECRET_SETTINGS, sharedKeyBytes } from './storage/shared-secrets.js';
import { NodeTokenSigner, NodeTokenVerifier, type NodeKey } from './node/node-tokens.js';
import { Relays } from './gateway/relay-client.js';

export async function clusterNodeKey(store: Pick<Store, 'getSetting' | 'setSetting' | 'setSettingIfAbsent'>): Promise<NodeKey> {
  const key = await sharedKeyBytes(store, SECRET_SETTINGS.nodeTokenKey, 32);
  return { kid: `k${createHash('sha256').update(key).digest('hex').slice(0, 12)}`, key };
}

/** What a control replica signs with (`caller`: its replica id, for the relays' per-caller caps). */
export function replicaSigner(key: NodeKey, caller: string): { signer: NodeTokenSigner; relays: Relays } {
  const signer = new NodeTokenSigner(key, caller);
  return { signer, relays: new Relays((nodeId, target, purpose) => signer.sign(nodeId, target, purpose)) };
}

export function nodeVerifier(key: NodeKey): NodeTokenVerifier {
  return new NodeTokenVerifier([key]);
}

/** `--database-url` is what joins a node or a control replica to its cluster; without it they cannot start. */
export function requireDatabase(cfg: WarrenConfig, command: 'node' | 'control'): string {
  if (!cfg.databaseUrl) {
    throw new Error(`--database-url postgres://… (or WARREN_DATABASE_URL) is required: `
      + `${command === 'node' ? 'a node registers' : 'control replicas keep their state'} in the cluster's PostgreSQL database`);
  }
  if (!/^postgres(ql)?:\/\//.test(cfg.databaseUrl)) throw new Error(`warren ${command} needs a PostgreSQL --database-url (postgres://…)`);
  return cfg.databaseUrl;
}
