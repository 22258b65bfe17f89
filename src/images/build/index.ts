/**
 * Dockerfile builds (issue 12, item 3): parse, plan, cache and execute over ports.
 * The server implements `BuildPorts` with the real sandbox driver and image store and
 * streams the events (src/contract/image-build.ts); the CLI renders them (render.ts).
 */
export { runBuild, MAX_LOG_LINE } from './executor.js';
export { parseDockerfile, MAX_DOCKERFILE_BYTES } from './dockerfile.js';
export { planFrom, planBody, DEFAULT_SHELL, DEFAULT_PATH } from './plan.js';
export type { PlannedStep, StepAction, RecordedMetadata, BodyPlan } from './plan.js';
export { stepKey, KEY_VERSION } from './cache-key.js';
export type { KeyedFile } from './cache-key.js';
export { BuildContext } from './context.js';
export type { ContextEntry, SourceMatch } from './context.js';
export { createLineRenderer, createTtyRenderer, ttyWrite, formatDuration } from './render.js';
export type { TtyFrame, TtyRenderer } from './render.js';
export { StepExitError } from './types.js';
export type {
  AddEntry,
  BuildInput,
  BuildMetadata,
  BuildPorts,
  BuildResult,
  BuildState,
  HistoryEntry,
  ImageConfig,
  RunOptions,
} from './types.js';
export type { ParsedDockerfile, Instruction } from './instructions.js';
