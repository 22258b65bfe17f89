/**
 * The executor's ports and results (pure types). Everything that touches sandboxes,
 * layers on disk or the image store goes through `BuildPorts`, which the server
 * implements with the real driver and layer store; this module never does.
 */
import type { ImageConfig } from '../records.js';
import type { RecordedMetadata } from './plan.js';

export type { ImageConfig, RecordedMetadata };

export interface BuildState {
  /** Layer digests (`sha256:<hex>`, the OCI diff_id), base first. */
  layers: string[];
  config: ImageConfig;
}

/**
 * One thing for `addFiles` to put in a new layer. Paths are absolute in the image;
 * host paths are inside the build context and must be opened without following a
 * symlink (O_NOFOLLOW): the context was checked when it was read, not when it is copied.
 * Missing parent directories are created 0755. Ownership is `opts.chown` (root when
 * unset) for everything added or created, and modes are as given.
 */
export type AddEntry =
  /** A regular file's content and mode at `dest`; when `destIfDir` is set and `dest` is an
   *  existing directory in the image, the file goes to `destIfDir` instead (Docker's
   *  rule for a single file copied to a destination without a trailing slash). */
  | { kind: 'file'; hostPath: string; dest: string; destIfDir?: string; mode: number }
  /** A directory: created when missing (with parents); an existing one keeps its metadata. */
  | { kind: 'dir'; dest: string; mode: number }
  /** A symlink with this target, as stored in the context (never followed). */
  | { kind: 'symlink'; dest: string; target: string }
  /** ADD of a local archive (tar, optionally gzip/bzip2/xz/zstd): its contents extracted under
   *  the directory `dest`, with the archive's own modes, and owners unless `chown` is set. */
  | { kind: 'archive'; hostPath: string; dest: string };

export interface RunOptions {
  /** The whole environment of the command: the image's Env plus the ARGs in scope. */
  env: string[];
  network: 'default' | 'none';
  onLog: (line: string) => void;
  signal: AbortSignal;
}

export interface BuildPorts {
  /** A catalog, imported or built image by name; null when unknown (→ BUILD_BASE_NOT_FOUND 404).
   *  `key` identifies the image's content (its id) and is the parent key of the first step. */
  resolveBase(name: string): Promise<{ key: string; state: BuildState } | null>;
  cacheGet(key: string): Promise<BuildState | null>;
  cachePut(key: string, state: BuildState): Promise<void>;
  /** Runs argv in a fresh sandbox over state.layers with the config's workdir and user
   *  (`opts.env` as its whole environment); resolves with the digest of the layer holding
   *  its changes (null when it changed nothing). A non-zero exit rejects with a
   *  `StepExitError` (or any error with a numeric `exitCode`); output lines go to onLog.
   *  When `signal` aborts, the sandbox is ended and the promise settles promptly. */
  run(state: BuildState, argv: string[], opts: RunOptions): Promise<string | null>;
  /** Makes a layer adding `entries` over state.layers; null when it would change nothing
   *  (a WORKDIR that already exists). `chown` is a user, user:group, uid or uid:gid
   *  resolved against the image's /etc/passwd and /etc/group. */
  addFiles(state: BuildState, entries: AddEntry[], opts: { chown?: string; signal: AbortSignal }): Promise<string | null>;
}

/** What `run` rejects with when the command exits non-zero. */
export class StepExitError extends Error {
  constructor(readonly exitCode: number) {
    super(`exited with code ${exitCode}`);
    this.name = 'StepExitError';
  }
}

export interface BuildInput {
  /** The Dockerfile's text. */
  dockerfile: string;
  /** The build context: a host directory. */
  contextDir: string;
  /** `--build-arg NAME=value`, overriding ARG defaults. */
  buildArgs?: Record<string, string>;
  /** RUN's network: 'default' is the normal firewall, 'none' no network at all. */
  network?: 'default' | 'none';
  /** Ignore cached steps (results are still cached). */
  noCache?: boolean;
  /** Aborting stops the build at once (the client went away). */
  signal?: AbortSignal;
}

export interface HistoryEntry {
  step: number;
  line: number;
  instruction: string;
  /** The layer this step added, or null (a config-only step, or a change of nothing). */
  layer: string | null;
  cached: boolean;
  ms: number;
}

export interface BuildMetadata {
  history: HistoryEntry[];
  exposedPorts: string[];
  labels: Record<string, string>;
  recorded: RecordedMetadata;
  warnings: string[];
}

export interface BuildResult {
  /** The last step's cache key: identifies the build's inputs. */
  key: string;
  state: BuildState;
  metadata: BuildMetadata;
  ms: number;
  cachedSteps: number;
  totalSteps: number;
}
