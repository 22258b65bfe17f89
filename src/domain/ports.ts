/**
 * What the domain needs from the outside world, as narrow interfaces. The server
 * wires real implementations (src/drivers, src/network, src/images); unit tests of
 * pure logic may pass fakes.
 */
import type { Readable } from 'node:stream';
import type { Driver } from '../drivers/driver.js';
import type { ArchiveFormat } from '../contract/layers.js';

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

/**
 * Archive files (src/storage/archive-files.ts): compressed, checksummed, written
 * atomically. `read` fails (at the latest at its end) when the file's sha256 is not the
 * recorded one; `checksum` is null for a missing file.
 */
export interface ArchiveFilesPort {
  write(workspaceId: string, file: string, format: ArchiveFormat, tar: Readable): Promise<{ bytes: number; sha256: string }>;
  checksum(workspaceId: string, file: string): Promise<string | null>;
  read(workspaceId: string, file: string, format: ArchiveFormat, sha256: string): Readable;
  remove(workspaceId: string, file: string): Promise<void>;
  removeAll(workspaceId: string): Promise<void>;
  /** Removes leftovers of interrupted writes; returns the complete files found. */
  sweep(): Promise<Array<{ workspaceId: string; file: string }>>;
}

export interface DomainDeps {
  driver: Driver;
  archives: ArchiveFilesPort;
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
