/**
 * `runBuild`: runs a Dockerfile build over ports (types.ts), step by step, with the step
 * cache. The flow:
 *   parse → FROM (meta ARGs substituted, base resolved: `scratch` is the empty image)
 *   → plan every step over the base config (plan.ts)
 *   → for each step: key = stepKey(parent key, canonical instruction, files read);
 *     a config-only step just moves on; a layer step (RUN, COPY/ADD, WORKDIR) is looked
 *     up in the cache, else executed through the ports and its state cached.
 * Events (src/contract/image-build.ts) go to `onEvent` as they happen; `onEvent` should
 * not throw (whatever it throws is ignored, so a broken listener cannot corrupt a build).
 * On failure an `error` event is emitted and the AppError is thrown; errors that are not
 * AppErrors become `server_error` (the original kept as `cause` for the server's log).
 * When `input.signal` aborts, the build stops at once: the pending port call is
 * abandoned (the ports get the signal too), no further event is emitted and the
 * promise rejects with the signal's reason.
 */
import { AppError, isAppError } from '../../contract/errors.js';
import type { BuildEvent } from '../../contract/image-build.js';
import { stepKey } from './cache-key.js';
import { BuildContext } from './context.js';
import { addEntries } from './copy-entries.js';
import { parseDockerfile } from './dockerfile.js';
import { planBody, planFrom, type PlannedStep } from './plan.js';
import type { BuildInput, BuildPorts, BuildResult, BuildState, HistoryEntry } from './types.js';

/** Log lines longer than this are cut (a build log is for people). */
export const MAX_LOG_LINE = 8192;
const SCRATCH_KEY = 'scratch';

export async function runBuild(input: BuildInput, ports: BuildPorts, onEvent: (e: BuildEvent) => void): Promise<BuildResult> {
  const signal = input.signal ?? new AbortController().signal;
  const build = new Build(input, ports, onEvent, signal);
  try {
    return await build.run();
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    const clientError = toClientError(err);
    const event: BuildEvent = { type: 'error', code: clientError.code, message: clientError.message };
    if (build.currentStep) event.step = build.currentStep;
    if (typeof clientError.details?.line === 'number') event.line = clientError.details.line;
    build.emit(event);
    throw clientError;
  }
}

function toClientError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const wrapped = new AppError('server_error', 'the build failed because of an internal error');
  Object.defineProperty(wrapped, 'cause', { value: err });
  return wrapped;
}

/** A context error (which knows no lines) with the Dockerfile line that caused it. */
function atLine(err: unknown, line: number): unknown {
  if (!isAppError(err) || err.details?.line !== undefined) return err;
  return new AppError(err.code, `Dockerfile line ${line}: ${err.message}`, { ...err.details, line });
}

function exitCodeOf(err: unknown): number | null {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return typeof code === 'number' ? code : null;
}

/** Settles with `p`, or rejects with the abort reason as soon as `signal` aborts. */
function guard<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

class Build {
  currentStep = 0;
  private total = 0;
  private key = '';
  private state: BuildState = { layers: [], config: { env: [], exposedPorts: [], labels: {} } };
  private cachedSteps = 0;
  private context: BuildContext | null = null;
  private readonly history: HistoryEntry[] = [];
  private readonly warnings: string[] = [];
  private readonly started = Date.now();

  constructor(
    private readonly input: BuildInput,
    private readonly ports: BuildPorts,
    private readonly onEvent: (e: BuildEvent) => void,
    private readonly signal: AbortSignal,
  ) {}

  emit(e: BuildEvent): void {
    if (this.signal.aborted) return;
    try {
      this.onEvent(e);
    } catch {
      // A listener's failure is not the build's.
    }
  }

  private warn(message: string, step?: number): void {
    this.warnings.push(message);
    this.emit(step === undefined ? { type: 'warning', message } : { type: 'warning', step, message });
  }

  async run(): Promise<BuildResult> {
    const parsed = parseDockerfile(this.input.dockerfile);
    const buildArgs = this.input.buildArgs ?? {};
    const { name, metaArgs } = planFrom(parsed, buildArgs);
    this.total = parsed.body.length + 1;

    this.currentStep = 1;
    const t0 = Date.now();
    this.emit({ type: 'step_start', step: 1, total: this.total, line: parsed.from.line, instruction: parsed.from.text });
    const base = name === 'scratch' ? { key: SCRATCH_KEY, state: this.state } : await guard(this.ports.resolveBase(name), this.signal);
    if (!base) {
      throw new AppError('BUILD_BASE_NOT_FOUND', `FROM ${name}: no image of that name (a catalog, imported or built image)`, {
        field: 'dockerfile',
        line: parsed.from.line,
      });
    }
    this.key = base.key;
    this.state = base.state;
    this.finishStep(1, parsed.from.line, parsed.from.text, false, null, t0);
    this.currentStep = 0; // a planning error belongs to its line, not to FROM

    const plan = planBody(parsed, buildArgs, metaArgs, base.state.config);
    for (const w of plan.warnings) this.warn(w);
    for (const step of plan.steps) await this.step(step);

    const result: BuildResult = {
      key: this.key,
      state: this.state,
      metadata: {
        history: this.history,
        exposedPorts: this.state.config.exposedPorts,
        labels: this.state.config.labels,
        recorded: plan.recorded,
        warnings: this.warnings,
      },
      ms: Date.now() - this.started,
      cachedSteps: this.cachedSteps,
      totalSteps: this.total,
    };
    this.emit({
      type: 'done',
      key: result.key,
      layers: result.state.layers,
      config: result.state.config,
      history: result.metadata.history,
      recorded: { ...result.metadata.recorded },
      warnings: result.metadata.warnings,
      ms: result.ms,
      cachedSteps: result.cachedSteps,
      totalSteps: result.totalSteps,
    });
    return result;
  }

  private finishStep(step: number, line: number, instruction: string, cached: boolean, layer: string | null, t0: number): void {
    const ms = Date.now() - t0;
    if (cached) this.cachedSteps++;
    this.history.push({ step, line, instruction, layer, cached, ms });
    this.emit({ type: 'step_end', step, total: this.total, instruction, cached, ms, layer });
  }

  private async step(step: PlannedStep): Promise<void> {
    this.currentStep = step.step;
    const t0 = Date.now();
    this.emit({ type: 'step_start', step: step.step, total: this.total, line: step.line, instruction: step.display });
    if (step.action.kind === 'config') {
      this.key = stepKey(this.key, step.canonical);
      this.state = { layers: this.state.layers, config: step.config };
      this.finishStep(step.step, step.line, step.display, false, null, t0);
      return;
    }
    const { key, execute } = await this.prepare(step);
    this.key = key;
    const parent = this.state;
    const hit = this.input.noCache ? null : await guard(this.ports.cacheGet(key), this.signal);
    if (hit) {
      this.state = { layers: hit.layers, config: step.config };
    } else {
      const layer = await execute(parent);
      this.state = { layers: layer ? [...parent.layers, layer] : parent.layers, config: step.config };
      await guard(this.ports.cachePut(key, this.state), this.signal);
    }
    const added = this.state.layers.length > parent.layers.length ? (this.state.layers[this.state.layers.length - 1] ?? null) : null;
    this.finishStep(step.step, step.line, step.display, hit !== null, added, t0);
  }

  /** The step's key (reading the context for COPY/ADD) and how to execute it on a miss. */
  private async prepare(step: PlannedStep): Promise<{ key: string; execute: (parent: BuildState) => Promise<string | null> }> {
    const { action } = step;
    switch (action.kind) {
      case 'run':
        return { key: stepKey(this.key, step.canonical), execute: (parent) => this.runCommand(step, parent, action) };
      case 'mkdir':
        return {
          key: stepKey(this.key, step.canonical),
          execute: (parent) =>
            guard(this.ports.addFiles(parent, [{ kind: 'dir', dest: action.path, mode: 0o755 }], this.chownOpts(action.chown)), this.signal),
        };
      case 'copy': {
        const ctx = await this.openContext();
        const matches = [];
        for (const source of action.sources) {
          const resolved = guard(ctx.resolve(source, { detectArchives: action.add, signal: this.signal }), this.signal);
          matches.push(...(await resolved.catch((err: unknown) => Promise.reject(atLine(err, step.line)))));
        }
        const skipped = matches.reduce((n, m) => n + m.skipped, 0);
        if (skipped > 0) this.warn(`skipped ${skipped} sockets, fifos or device files in the context`, step.step);
        const { entries, files } = addEntries(matches, action, step.line);
        return {
          key: stepKey(this.key, step.canonical, files),
          execute: (parent) => guard(this.ports.addFiles(parent, entries, this.chownOpts(action.chown)), this.signal),
        };
      }
      default:
        throw new Error(`no execution for ${action.kind}`);
    }
  }

  private chownOpts(chown: string | undefined): { chown?: string; signal: AbortSignal } {
    return chown === undefined ? { signal: this.signal } : { chown, signal: this.signal };
  }

  private async openContext(): Promise<BuildContext> {
    this.context ??= await BuildContext.open(this.input.contextDir);
    return this.context;
  }

  private async runCommand(step: PlannedStep, parent: BuildState, action: Extract<PlannedStep['action'], { kind: 'run' }>): Promise<string | null> {
    const network = action.network === 'none' || this.input.network === 'none' ? 'none' : 'default';
    const onLog = (line: string) => this.emit({ type: 'log', step: step.step, text: line.length > MAX_LOG_LINE ? `${line.slice(0, MAX_LOG_LINE)}…` : line });
    try {
      return await guard(this.ports.run(parent, action.argv, { env: action.env, network, onLog, signal: this.signal }), this.signal);
    } catch (err) {
      const exitCode = exitCodeOf(err);
      if (exitCode === null || this.signal.aborted) throw err;
      const shown = step.display.length > 120 ? `${step.display.slice(0, 119)}…` : step.display;
      throw new AppError('BUILD_STEP_FAILED', `step ${step.step}/${this.total} (${shown}) failed with exit code ${exitCode}`, {
        field: 'dockerfile',
        line: step.line,
        step: step.step,
        exit_code: exitCode,
      });
    }
  }
}
