/** A node's registration for tests of the registry (src/domain/nodes.ts): relay on loopback, one zone label. */
import type { NodeCapacity, NodeRegistration } from '../../src/store/store.js';

export function nodeRegistration(id: string, capacity: NodeCapacity = { cpus: 8, memory_mb: 16_384, disk_mb: 100_000, max_workspaces: 20 }): NodeRegistration {
  return { id, name: `host-${id}`, address: '127.0.0.1:7443', subnet: '10.214.0.0/24', capacity, labels: { zone: 'z1' }, version: '0.1.0' };
}
