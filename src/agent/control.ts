/**
 * Control files written by the host into a read-only directory of the workspace
 * (`WARREN_CONTROL_DIR`, default `/.warren/control`):
 *   token          the raw connection token; empty or missing = runtime API disabled
 *   control-token  the host's token for the internal API (`/_warren/*`); missing = refused
 *   config.json    { workspace_id, hostname, env: {K: V}, cmd?: string[], exit_with_cmd?: boolean,
 *                    workloads?: WorkloadSpec[], keep_logs?: boolean, pooled?: boolean }
 *
 * The host rewrites them at any time (token rotation, env change), so every read
 * goes through `ControlFile`, which re-reads on change and costs one stat() otherwise.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** How close to a file's mtime a read must be for the cache to be distrusted (ms). */
const RACY_WINDOW_MS = 2000;

/**
 * Cached view of a small file. A change is detected by (inode, size, mtime, ctime).
 * Timestamps are coarse (a few ms) on most filesystems, so a rewrite with the same
 * size inside one tick keeps the same key; as in git's "racy" rule, a read taken
 * less than RACY_WINDOW_MS after the file's mtime is not trusted and the next call
 * reads again. A rotated token is therefore enforced on the very next request.
 */
export class ControlFile {
  private key: string | null = null;
  private trusted = false;
  private content: string | null = null;

  constructor(readonly path: string, private readonly maxBytes = 64 * 1024) {}

  /** The file's text, or null when it is missing, unreadable or too large. */
  read(): string | null {
    let st;
    try {
      st = statSync(this.path, { bigint: true, throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (!st || !st.isFile() || st.size > BigInt(this.maxBytes)) {
      this.key = null;
      this.content = null;
      return null;
    }
    const key = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    if (key === this.key && this.trusted) return this.content;
    try {
      this.content = readFileSync(this.path, 'utf8');
    } catch {
      this.content = null;
    }
    this.key = key;
    this.trusted = Date.now() - Number(st.mtimeMs) >= RACY_WINDOW_MS;
    return this.content;
  }
}

export interface WorkspaceConfig {
  workspaceId: string;
  hostname: string;
  env: Record<string, string>;
  cmd?: string[];
  /**
   * The workspace ends with its `cmd`: when the command exits the agent exits with the
   * same status, so the sandbox (and Warren's restart policy) sees the exit.
   */
  exitWithCmd?: boolean;
  /** Workload specs to define at start (validated by src/agent/workloads/spec.ts). */
  workloads?: unknown[];
  /** `keep_logs: false`: the agent empties its log directory at start. */
  keepLogs?: false;
  /** Working directory and user (OCI `User`) of `cmd`: the image's WorkingDir and User. */
  workdir?: string;
  user?: string;
  /**
   * A warm-pool sandbox not yet given to a workspace: the agent listens but starts
   * nothing (no cmd, workloads or sshd) until the host claims it (`POST /_warren/claim`).
   */
  pooled?: true;
}

const EMPTY_CONFIG: WorkspaceConfig = { workspaceId: '', hostname: '', env: {} };

/** Reads `token` and `config.json` from the control directory, tolerating bad content. */
export class ControlDir {
  private readonly tokenFile: ControlFile;
  private readonly configFile: ControlFile;
  private readonly controlTokenFile: ControlFile;
  private lastConfigText: string | null = null;
  private lastConfig: WorkspaceConfig = EMPTY_CONFIG;

  constructor(readonly dir: string) {
    this.tokenFile = new ControlFile(join(dir, 'token'), 4096);
    this.configFile = new ControlFile(join(dir, 'config.json'), 1024 * 1024);
    this.controlTokenFile = new ControlFile(join(dir, 'control-token'), 4096);
  }

  /** The host's token for the internal API, or null when the file is missing or empty. */
  controlToken(): string | null {
    const token = this.controlTokenFile.read()?.trim() ?? '';
    return token.length > 0 ? token : null;
  }

  /** The current raw token, or null when the runtime API is disabled. */
  token(): string | null {
    const text = this.tokenFile.read();
    const token = text?.trim() ?? '';
    return token.length > 0 ? token : null;
  }

  /** The current workspace config; the last good one if the file became invalid. */
  config(): WorkspaceConfig {
    const text = this.configFile.read();
    if (text === null) return EMPTY_CONFIG;
    if (text !== this.lastConfigText) {
      this.lastConfigText = text;
      const parsed = parseConfig(text);
      if (parsed) this.lastConfig = parsed;
    }
    return this.lastConfig;
  }
}

function parseConfig(text: string): WorkspaceConfig | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const o = raw as Record<string, unknown>;
  const env: Record<string, string> = {};
  if (o.env && typeof o.env === 'object' && !Array.isArray(o.env)) {
    for (const [k, v] of Object.entries(o.env as Record<string, unknown>)) {
      if (typeof v === 'string') env[k] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') env[k] = String(v);
    }
  }
  const cmd = Array.isArray(o.cmd) && o.cmd.length > 0 && o.cmd.every((c) => typeof c === 'string')
    ? (o.cmd as string[])
    : undefined;
  return {
    workspaceId: typeof o.workspace_id === 'string' ? o.workspace_id : '',
    hostname: typeof o.hostname === 'string' ? o.hostname : '',
    env,
    ...(cmd ? { cmd } : {}),
    ...(o.exit_with_cmd === true ? { exitWithCmd: true } : {}),
    ...(Array.isArray(o.workloads) ? { workloads: o.workloads as unknown[] } : {}),
    ...(o.keep_logs === false ? { keepLogs: false as const } : {}),
    ...(typeof o.workdir === 'string' && o.workdir.startsWith('/') ? { workdir: o.workdir } : {}),
    ...(typeof o.user === 'string' && o.user !== '' ? { user: o.user } : {}),
    ...(o.pooled === true ? { pooled: true as const } : {}),
  };
}
