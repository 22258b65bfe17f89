/**
 * The role a process plays (issue 16) and the node daemon's settings (flags, or the
 * environment variable in brackets):
 *   role: `all` (`warren serve`: API and host in one process), `node` (`warren node`: one
 *         host's sandboxes and its relay, no API), `control` (`warren control`: API,
 *         gateway, edge and jump host over the nodes, no host network).
 *   --relay-host (WARREN_RELAY_HOST)       address the node's relay binds; default the --host
 *   --relay-port (WARREN_RELAY_PORT)       its port; default 7443 (0: any free port)
 *   --advertise (WARREN_ADVERTISE)         host:port control replicas dial; default the relay's
 *   --node-id (WARREN_NODE_ID)             the node's id; default made once and kept in `<data-dir>/node-id`
 *   --node-name (WARREN_NODE_NAME)         a display name; default the host name
 *   --capacity-cpus, --capacity-memory-mb, --capacity-disk-mb, --max-workspaces
 *                                          what the node offers placement; default the host's cores,
 *                                          memory, data-dir disk and 256 workspaces
 *   --labels (WARREN_NODE_LABELS)          `k=v,k=v`
 */
import { hostname } from 'node:os';
import type { Flags } from './load.js';
import { NODE_ID } from '../contract/nodes.js';

export type WarrenRole = 'all' | 'node' | 'control';

export const DEFAULT_RELAY_PORT = 7443;
export const DEFAULT_MAX_WORKSPACES = 256;

export interface NodeOptions {
  relayHost: string;
  relayPort: number;
  /** host:port, or null: the relay's own address once it listens. */
  advertise: string | null;
  /** null: `<data-dir>/node-id` (src/server-coordination.ts replicaIdFor). */
  nodeId: string | null;
  name: string;
  /** Each null: the host's own figure (probed at start). */
  capacity: { cpus: number | null; memoryMb: number | null; diskMb: number | null; maxWorkspaces: number };
  labels: Record<string, string>;
}

type PickFn = (flags: Flags, flag: string, env: string) => string | undefined;

function positive(text: string | undefined, what: string, max: number): number | null {
  if (text === undefined) return null;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${what} must be an integer 1–${max}, got ${JSON.stringify(text)}`);
  return n;
}

/** `host:port` with a port 1–65535 (an IPv6 host in brackets). */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) throw new Error(`${what} must be host:port, got ${JSON.stringify(text)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  for (const pair of text.split(',')) {
    const m = /^([A-Za-z0-9_./-]{1,63})=([A-Za-z0-9_.:/-]{0,63})$/.exec(pair.trim());
    if (!m) throw new Error(`--labels must be k=v,k=v; got ${JSON.stringify(pair)}`);
    labels[m[1]!] = m[2]!;
  }
  return labels;
}

/** What `warren node` needs beyond the parse (other roles ignore the node options). */
export function checkNodeOptions(o: NodeOptions): void {
  if (o.advertise === null && (o.relayHost === '0.0.0.0' || o.relayHost === '::')) {
    throw new Error('--advertise host:port is required when the relay binds every address (--relay-host 0.0.0.0): it is what replicas dial');
  }
}

export function parseRole(text: string | undefined): WarrenRole {
  if (text === undefined) return 'all';
  if (text === 'all' || text === 'node' || text === 'control') return text;
  throw new Error(`role must be all, node or control, got ${JSON.stringify(text)}`);
}

export function loadNodeOptions(flags: Flags, pick: PickFn, apiHost: string): NodeOptions {
  const relayHost = pick(flags, 'relay-host', 'WARREN_RELAY_HOST') ?? apiHost;
  const portText = pick(flags, 'relay-port', 'WARREN_RELAY_PORT') ?? String(DEFAULT_RELAY_PORT);
  const relayPort = Number(portText);
  if (!Number.isInteger(relayPort) || relayPort < 0 || relayPort > 65535) throw new Error(`--relay-port must be 0–65535, got ${portText}`);
  const advertise = pick(flags, 'advertise', 'WARREN_ADVERTISE') ?? null;
  if (advertise !== null) parseHostPort(advertise, '--advertise');

  const nodeId = pick(flags, 'node-id', 'WARREN_NODE_ID') ?? null;
  if (nodeId !== null && !NODE_ID.test(nodeId)) throw new Error('--node-id must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  return {
    relayHost, relayPort, advertise, nodeId,
    name: pick(flags, 'node-name', 'WARREN_NODE_NAME') ?? hostname(),
    capacity: {
      cpus: positive(pick(flags, 'capacity-cpus', 'WARREN_CAPACITY_CPUS'), '--capacity-cpus', 4096),
      memoryMb: positive(pick(flags, 'capacity-memory-mb', 'WARREN_CAPACITY_MEMORY_MB'), '--capacity-memory-mb', 1 << 30),
      diskMb: positive(pick(flags, 'capacity-disk-mb', 'WARREN_CAPACITY_DISK_MB'), '--capacity-disk-mb', 1 << 30),
      maxWorkspaces: positive(pick(flags, 'max-workspaces', 'WARREN_NODE_MAX_WORKSPACES'), '--max-workspaces', 100_000) ?? DEFAULT_MAX_WORKSPACES,
    },
    labels: parseLabels(pick(flags, 'labels', 'WARREN_NODE_LABELS')),
  };
}
