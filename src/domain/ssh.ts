/**
 * SSH access to workspaces (control-plane.md §7). Whether SSH is on is the record's
 * `config.ssh_access` (so `ssh_access: true` at create enables it); the rest — ssh_id,
 * host key, password hash, key-only flag, authorized keys — is the workspace's
 * `workspace_ssh` row (src/store/ssh-records.ts), made on first need.
 *
 * Changes run under the workspace's lock and are stored first (intent first); a running
 * workspace's agent is then told (PUT /_warren/ssh, src/contract/ssh-agent.ts), anything
 * else applies at its next boot, when the orchestrator calls `writeBootFile`. A paused
 * workspace's change is applied when it resumes (`resumed`). Disable closes the jump
 * host's channels to the workspace and the agent kills sshd and every session at once.
 *
 * Passwords never leave the host: the agent gets a sha512-crypt hash. `enable` makes a
 * fresh random password (returned once) whenever the workspace has no usable one and is
 * not key-only.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import { SSH_CONTROL_FILE, SSH_INTERNAL_PATH, type SshAgentConfig, type SshAgentStatus } from '../contract/ssh-agent.js';
import type { SetSshKeyCommand, SetSshPasswordCommand } from '../contract/ssh.js';
import type { SshRecord, Store, WorkspaceRecord } from '../store/store.js';
import type { AgentControlPort, AgentTarget, FilesPort, RelayVia } from './ports.js';
import { randomSalt, sha512Crypt } from './sha512-crypt.js';
import type { WorkspaceService } from './workspaces.js';

const PASSWORD_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const PASSWORD_LENGTH = 20;

export interface SshConnection {
  user: string;
  host: string;
  bastion: string;
  command: string;
  scp_upload: string;
  scp_download: string;
}

/** `SshStatus` of the spec (control-plane.md §7). */
export interface SshStatus {
  ssh_enabled: boolean;
  supported: boolean;
  auth_methods: Array<'password' | 'publickey'>;
  password_auth_enabled: boolean;
  password_affects_desktop: false;
  ssh_id?: string;
  ssh_password_changed: boolean;
  ssh_key_set: boolean;
  connection: SshConnection | null;
}

export interface SshDeps {
  store: Store;
  workspaces: WorkspaceService;
  agent: AgentControlPort;
  /** Where `ssh.json` is written (src/host/files.ts). */
  files: FilesPort;
  target: (rec: WorkspaceRecord) => AgentTarget;
  generateHostKey: () => { private: string; public: string };
  /** Whether a stored host key can be loaded by sshd; a row written with an unloadable key is given a fresh one. */
  hostKeyUsable?: (privateKey: string) => boolean;
  /** `<host>:<port>` (host alone for port 22) of the jump host; null when there is none. */
  bastion: () => string | null;
  /** Whether this server can give workspaces SSH (sshd bundle built, jump host listening). */
  supported: () => boolean;
  /** Closes the jump host's live channels to the workspace. */
  disconnect: (workspaceId: string) => void;
  /** Wakes a workspace the idle policy put to sleep. */
  wake?: (workspaceId: string) => Promise<unknown>;
  /** The node relay a workspace is reached through (src/domain/backend.ts `via`); absent: directly. */
  via?: (rec: WorkspaceRecord) => Promise<RelayVia | undefined>;
  /**
   * How a running workspace's agent is told its SSH settings when it runs on a node, not on
   * this host (a control replica: the node API's `sync-ssh`, after which the node reads them
   * from the store and calls `apply`). Absent: the agent is called here, on this host.
   */
  applyOnNode?: (rec: WorkspaceRecord) => Promise<void>;
}

export function randomPassword(): string {
  let out = '';
  while (out.length < PASSWORD_LENGTH) {
    for (const b of randomBytes(32)) {
      if (b < 256 - (256 % PASSWORD_CHARS.length) && out.length < PASSWORD_LENGTH) out += PASSWORD_CHARS[b % PASSWORD_CHARS.length];
    }
  }
  return out;
}

/** What the agent is told for this record and row. */
export function agentConfigOf(rec: WorkspaceRecord, row: SshRecord | null): SshAgentConfig {
  if (!rec.config.ssh_access || !row) return { enabled: false };
  return {
    enabled: true,
    listen: rec.ip,
    password_hash: row.key_only ? null : row.password_hash,
    password_auth: !row.key_only,
    authorized_keys: row.authorized_keys,
    host_keys: [row.host_key],
  };
}

export function connectionOf(sshId: string, bastion: string): SshConnection {
  const jump = `root@${bastion}`;
  return {
    user: 'root',
    host: sshId,
    bastion,
    command: `ssh root@${sshId} -J ${jump}`,
    scp_upload: `scp -o "ProxyJump ${jump}" <local-path> root@${sshId}:<remote-path>`,
    scp_download: `scp -o "ProxyJump ${jump}" root@${sshId}:<remote-path> <local-path>`,
  };
}

export class SshService {
  /** Workspaces changed while paused: told on resume. */
  private readonly stale = new Set<string>();

  constructor(private readonly d: SshDeps) {}

  async status(id: string): Promise<SshStatus> {
    const rec = await this.d.workspaces.get(id);
    return this.statusOf(rec, await this.d.store.getSsh(rec.id));
  }

  /** The `ssh` block of GET /workspace/:id/details. */
  async details(rec: WorkspaceRecord): Promise<{ ssh_enabled: boolean; ssh_id: string | null; connection: { command: string } | null }> {
    const s = this.statusOf(rec, await this.d.store.getSsh(rec.id));
    return { ssh_enabled: s.ssh_enabled, ssh_id: s.ssh_id ?? null, connection: s.connection ? { command: s.connection.command } : null };
  }

  /** Turns SSH on; `ssh_password` is set when a fresh password was made (shown this once). */
  async enable(id: string): Promise<SshStatus & { ssh_password?: string }> {
    if (!this.d.supported()) throw new AppError('ssh_unavailable', 'SSH is not available on this server');
    return this.edit(id, async (rec, row) => {
      let password: string | undefined;
      if (!row.key_only && (!rec.config.ssh_access || row.password_hash === null)) {
        password = randomPassword();
        row = await this.saveRow({ ...row, password_hash: sha512Crypt(password, randomSalt()), password_changed: false });
      }
      const saved = rec.config.ssh_access ? rec : await this.setEnabled(rec, true);
      await this.push(saved, row);
      return { ...this.statusOf(saved, row), ...(password ? { ssh_password: password } : {}) };
    });
  }

  async disable(id: string): Promise<SshStatus> {
    return this.d.workspaces.withLock(id, async () => {
      const rec = await this.d.workspaces.get(id);
      const saved = rec.config.ssh_access ? await this.setEnabled(rec, false) : rec;
      this.d.disconnect(saved.id);
      const row = await this.d.store.getSsh(saved.id);
      await this.push(saved, row);
      return this.statusOf(saved, row);
    });
  }

  /** Sets root's password; the workspace takes passwords again (ends key-only). */
  async setPassword(id: string, cmd: SetSshPasswordCommand): Promise<SshStatus> {
    return this.edit(id, async (rec, row) => {
      const next = await this.saveRow({
        ...row, password_hash: sha512Crypt(cmd.password, randomSalt()), password_changed: true, key_only: false,
      });
      await this.push(rec, next);
      return this.statusOf(rec, next);
    });
  }

  /** Makes `publicKey` root's one authorized key; the workspace becomes key-only. */
  async setKey(id: string, cmd: SetSshKeyCommand): Promise<SshStatus> {
    return this.edit(id, async (rec, row) => {
      const next = await this.saveRow({ ...row, authorized_keys: [cmd.publicKey], key_only: true });
      await this.push(rec, next);
      return this.statusOf(rec, next);
    });
  }

  /**
   * Boot hook (the orchestrator, before every start): writes `ssh.json` into the control
   * directory (0600, atomically) — the full document when SSH is on, `{enabled:false}` else.
   */
  async writeBootFile(rec: WorkspaceRecord, controlDir: string): Promise<void> {
    this.stale.delete(rec.id);
    const row = rec.config.ssh_access ? await this.ensureRow(rec) : null;
    const path = join(controlDir, SSH_CONTROL_FILE);
    await this.d.files.writeAtomic(path, JSON.stringify(agentConfigOf(rec, row)), 0o600);
  }

  /** A workspace resumed: tells its agent what changed while it was paused. */
  resumed(id: string): void {
    if (!this.stale.has(id)) return;
    void this.d.workspaces.withLock(id, async () => {
      const rec = await this.d.workspaces.get(id);
      await this.push(rec, await this.d.store.getSsh(rec.id));
    }).catch(() => undefined); // the next change or boot applies it
  }

  /**
   * Tells the running workspace's agent its stored SSH settings (the node's half of
   * `applyOnNode`). Takes no lock: the replica that asked holds the workspace's lease.
   */
  async apply(id: string): Promise<void> {
    const rec = await this.d.workspaces.get(id);
    await this.tellAgent(rec, await this.d.store.getSsh(rec.id));
  }

  /** The jump host's lookup: the workspace `sshId` names, when it runs with SSH on (an asleep one is woken). */
  async route(sshId: string): Promise<{ workspaceId: string; ip: string; via?: RelayVia } | null> {
    const row = await this.d.store.findSshById(sshId);
    let rec = row ? await this.d.store.getWorkspace(row.workspace_id) : null;
    if (!rec?.config.ssh_access) return null;
    if (rec.lifecycle.asleep !== null && this.d.wake) {
      await this.d.wake(rec.id).catch(() => undefined);
      rec = await this.d.store.getWorkspace(rec.id);
    }
    if (!rec || rec.state !== 'running' || !rec.config.ssh_access) return null;
    const via = await this.d.via?.(rec);
    return { workspaceId: rec.id, ip: rec.ip, ...(via ? { via } : {}) };
  }

  private edit<T>(id: string, fn: (rec: WorkspaceRecord, row: SshRecord) => Promise<T>): Promise<T> {
    return this.d.workspaces.withLock(id, async () => {
      const rec = await this.d.workspaces.get(id);
      return fn(rec, await this.ensureRow(rec));
    });
  }

  private setEnabled(rec: WorkspaceRecord, on: boolean): Promise<WorkspaceRecord> {
    return this.d.store.updateWorkspace({ ...rec, config: { ...rec.config, ssh_access: on } }, rec.version);
  }

  private async saveRow(row: SshRecord): Promise<SshRecord> {
    const next = { ...row, updated_at: new Date().toISOString() };
    await this.d.store.putSsh(next);
    return next;
  }

  /**
   * The workspace's row, made with a fresh ssh_id and host key when it has none. A row whose host
   * key sshd could not load (an earlier Warren stored one, see ssh/host-key.ts) gets a new key: the
   * old one was never served, so no client knows it.
   */
  private async ensureRow(rec: WorkspaceRecord): Promise<SshRecord> {
    const existing = await this.d.store.getSsh(rec.id);
    if (existing && this.d.hostKeyUsable && !this.d.hostKeyUsable(existing.host_key)) {
      const key = this.d.generateHostKey();
      return this.saveRow({ ...existing, host_key: key.private, host_key_public: key.public });
    }
    if (existing) return existing;
    const key = this.d.generateHostKey();
    const now = new Date().toISOString();
    for (let attempt = 0; ; attempt++) {
      const row: SshRecord = {
        workspace_id: rec.id, ssh_id: randomBytes(8).toString('hex'), password_hash: null, password_changed: false,
        key_only: false, authorized_keys: [], host_key: key.private, host_key_public: key.public, created_at: now, updated_at: now,
      };
      try {
        await this.d.store.putSsh(row);
        return row;
      } catch (err) {
        if (!(err instanceof AppError && err.details?.field === 'ssh_id') || attempt >= 4) throw err;
      }
    }
  }

  /** Tells a running workspace's agent; a paused one is told on resume, a stopped one at boot. */
  private async push(rec: WorkspaceRecord, row: SshRecord | null): Promise<void> {
    if (rec.state === 'paused') this.stale.add(rec.id);
    if (rec.state !== 'running') return;
    // On a node, the node tells its agent (the settings are read from the store there: no secret crosses the hop).
    if (this.d.applyOnNode) return this.d.applyOnNode(rec);
    await this.tellAgent(rec, row);
  }

  /** PUTs the settings to the agent of a running workspace on this host; ssh_unavailable when sshd did not start. */
  private async tellAgent(rec: WorkspaceRecord, row: SshRecord | null): Promise<void> {
    if (rec.state !== 'running') return;
    const doc = agentConfigOf(rec, row);
    const res = await this.d.agent.call<{ ssh?: SshAgentStatus }>(this.d.target(rec), 'PUT', SSH_INTERNAL_PATH, doc);
    if (doc.enabled && !res.ssh?.running) {
      const why = res.ssh?.error === 'sshd_missing' ? 'the SSH server is not available to this workspace' : 'the SSH server did not start';
      throw new AppError('ssh_unavailable', `SSH is enabled but ${why}; try again or restart the workspace`);
    }
  }

  private statusOf(rec: WorkspaceRecord, row: SshRecord | null): SshStatus {
    const enabled = rec.config.ssh_access;
    const keyOnly = row?.key_only ?? false;
    const bastion = this.d.bastion();
    return {
      ssh_enabled: enabled,
      supported: this.d.supported(),
      auth_methods: keyOnly ? ['publickey'] : ['password', 'publickey'],
      password_auth_enabled: !keyOnly,
      password_affects_desktop: false,
      ...(row ? { ssh_id: row.ssh_id } : {}),
      ssh_password_changed: row?.password_changed ?? false,
      ssh_key_set: (row?.authorized_keys.length ?? 0) > 0,
      connection: enabled && row && bastion ? connectionOf(row.ssh_id, bastion) : null,
    };
  }
}
