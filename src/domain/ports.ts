/**
 * What the domain needs from the outside world, as narrow interfaces. The server
 * wires real implementations (src/drivers, src/network, src/images); unit tests of
 * pure logic may pass fakes.
 */
import type { Driver } from '../drivers/driver.js';

export interface FirewallPort {
  register(sandbox: { ip: string; hostIf: string }): Promise<void>;
  unregister(sandbox: { ip: string; hostIf: string }): Promise<void>;
}

export interface ImagesPort {
  /** Catalog entry id for an id or image ref; null if unknown. */
  resolveId(idOrRef: string): string | null;
  /** Rootfs directory of a built image, building it first if needed. */
  ensure(id: string): Promise<string>;
}

/** Resolves once the agent at ip:port answers /health, or throws after timeoutMs. */
export type AgentProbe = (ip: string, port: number, timeoutMs: number) => Promise<void>;

export interface NetworkLayout {
  bridge: string;
  subnet: string;
  prefixLen: number;
  gateway: string;
  /** Resolvers written to the workspace's /etc/resolv.conf; empty: the image's file stays. */
  dns?: string[];
}

export interface HostPaths {
  /** Holds one directory per workspace (control files, sandbox state); on the storage pool. */
  workspacesDir: string;
  /** Project root holding dist/, node_modules/ and package.json for the agent. */
  bundleDir: string;
  nodeBinary: string;
}

export interface DomainDeps {
  driver: Driver;
  firewall: FirewallPort;
  images: ImagesPort;
  probe: AgentProbe;
  network: NetworkLayout;
  paths: HostPaths;
  hostIfName: (shortId: string) => string;
  /** Brings the firewall's policy sets in line with the store (after a registration). */
  syncNetwork?: () => Promise<void>;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export const AGENT_PORT = 9990;
/** Processes and threads a workspace may have at once. */
export const DEFAULT_PIDS_LIMIT = 1024;
