/**
 * Composition of SSH (control-plane.md §7), part of the composition root (src/server.ts):
 *
 *   client ──ssh -J──► jump host (src/ssh/jump-host.ts, WARREN_SSH_PORT, default 2222)
 *          ──direct-tcpip <ssh_id>:22──► the workspace's private address, port 22
 *          ──► sshd run by the workspace's agent from the bundle at /.warren/ssh
 *
 * The sshd bundle is built (or found current) here before any workspace boots; the
 * jump host's own host key lives in `<data dir>/secrets/ssh-jump-host-ed25519.key`, or in the
 * database when it is shared by replicas (`sharedHostKey`: every jump host presents one key).
 * A jump host port that cannot be bound is logged and SSH reports `supported: false`;
 * the rest of Warren runs on.
 */
import { join } from 'node:path';
import type { SshConfig } from './config/ssh.js';
import { AGENT_PORT } from './domain/ports.js';
import { controlDirOf } from './domain/sandbox-spec.js';
import { SshService } from './domain/ssh.js';
import type { WorkspaceService } from './domain/workspaces.js';
import { AgentControlClient } from './gateway/agent-control.js';
import { ensureSshBundle } from './ssh/bundle.js';
import { generateHostKey, isLoadableHostKey, loadOrCreateHostKeyFile } from './ssh/host-key.js';
import { JumpHost } from './ssh/jump-host.js';
import type { Store, WorkspaceRecord } from './store/store.js';
import { hostFiles } from './host/files.js';
import type { RelayVia } from './domain/ports.js';
import type { Relays } from './gateway/relay-client.js';

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Where the sshd bundle's stable link lives (what sandboxes bind; see src/ssh/bundle.ts). */
export function sshBundlePath(dataDir: string): string {
  return join(dataDir, 'ssh', 'bundle');
}

export interface SshPlaneInput {
  cfg: SshConfig;
  dataDir: string;
  store: Store;
  workspaces: WorkspaceService;
  workspacesDir: string;
  /** An SSH channel counts as traffic for the idle policy while it is open. */
  activity: (workspaceId: string) => () => void;
  wake: (workspaceId: string) => Promise<unknown>;
  log: Log;
  /** The jump host's key from the database (replicas on PostgreSQL); absent: the data-dir file. */
  sharedHostKey?: () => Promise<string>;
  /** The sshd bundle when the caller already knows it (null: none, as in tests); absent: found or built in the data dir. */
  bundle?: string | null;
  /** The node relay a workspace is reached through (absent: directly, it runs on this host). */
  via?: (rec: WorkspaceRecord) => Promise<RelayVia | undefined>;
  /** Tunnels to node relays, for workspaces with `via`. */
  relays?: Relays;
  /** How a running workspace's agent learns its SSH settings on a node (SshDeps `applyOnNode`); absent: directly. */
  applyOnNode?: (rec: WorkspaceRecord) => Promise<void>;
}

export interface SshPlane {
  service: SshService;
  /** Opens the jump host (no-op when WARREN_SSH_PORT is 0). */
  listen(): Promise<void>;
  /** Closes the jump host's channels to a workspace (it stopped, paused or went away). */
  disconnectWorkspace(id: string): void;
  close(): Promise<void>;
}

/** `host:port`, bracketing IPv6, and the host alone for port 22. */
export function bastionOf(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return port === 22 ? h : `${h}:${port}`;
}

export async function createSshPlane(i: SshPlaneInput): Promise<SshPlane> {
  const bundle = i.bundle !== undefined ? i.bundle : await ensureSshBundle(join(i.dataDir, 'ssh'), i.log);
  const agent = new AgentControlClient();
  // On a replica the agent is never called from here: `applyOnNode` has the node tell it.
  const target = (rec: WorkspaceRecord) => ({ ip: rec.ip, port: AGENT_PORT, controlDir: controlDirOf(i.workspacesDir, rec.id) });
  let jump: JumpHost | null = null;
  const service = new SshService({
    store: i.store, workspaces: i.workspaces, agent, files: hostFiles, target, generateHostKey, hostKeyUsable: isLoadableHostKey, wake: i.wake,
    bastion: () => (jump?.listeningPort ? bastionOf(i.cfg.publicHost, jump.listeningPort) : null),
    supported: () => bundle !== null && (jump?.listeningPort ?? 0) > 0,
    disconnect: (id) => jump?.disconnectWorkspace(id),
    ...(i.via ? { via: i.via } : {}),
    ...(i.applyOnNode ? { applyOnNode: i.applyOnNode } : {}),
  });
  if (i.cfg.port !== 0) {
    jump = new JumpHost({
      hostKey: i.sharedHostKey ? await i.sharedHostKey() : loadOrCreateHostKeyFile(join(i.dataDir, 'secrets', 'ssh-jump-host-ed25519.key')),
      resolve: (sshId) => service.route(sshId),
      onChannel: i.activity,
      log: i.log,
      maxPerSource: i.cfg.maxPerSource,
      handshakeTimeoutMs: i.cfg.handshakeTimeoutMs,
      ...(i.relays ? { relays: i.relays } : {}),
    });
  }
  return {
    service,
    async listen() {
      if (!jump) return;
      try {
        const port = await jump.listen(i.cfg.port, i.cfg.host);
        i.log('info', 'ssh jump host is listening', { port, host: i.cfg.host });
      } catch (err) {
        i.log('error', 'the ssh jump host could not listen; SSH is unavailable', { port: i.cfg.port, err: String(err) });
      }
    },
    disconnectWorkspace: (id) => void jump?.disconnectWorkspace(id),
    close: async () => {
      await jump?.close();
    },
  };
}
