/**
 * The planner (pure): from parsed instructions, the build args and the base image's
 * config, it works out every step as Docker would — variables substituted where Docker
 * substitutes, the image config after each step, what each step does (run a command,
 * add context files, make a directory, or only change the config) and the step's
 * canonical text for its cache key. Nothing here touches a file or a sandbox.
 *
 * Variables (Docker's rules): ARGs before FROM are visible to FROM only, and inside the
 * stage when re-declared (`ARG NAME`); a stage ARG takes its build-arg value, else its
 * default; ENV wins over an ARG of the same name. ARG values are in the environment of
 * RUN (and in its cache key) but never in the image.
 */
import { posix } from 'node:path';
import type { ImageConfig } from '../records.js';
import { invalid } from './dockerfile.js';
import type { ArgInstruction, CommandForm, CopyInstruction, Instruction, ParsedDockerfile } from './instructions.js';
import { lookupFrom, processWord, SubstitutionError, type Processed, type VarLookup } from './substitute.js';
import { exposedPorts } from './ports.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];
/** Docker's PATH for RUN when the image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type StepAction =
  | { kind: 'config' }
  | { kind: 'run'; argv: string[]; env: string[]; network?: 'default' | 'none' }
  | {
      kind: 'copy';
      add: boolean;
      /** Context paths or patterns, substituted, as written. */
      sources: string[];
      /** Absolute destination in the image. */
      dest: string;
      /** The destination was written as a directory (trailing `/`, `.`). */
      destIsDir: boolean;
      chown?: string;
      chmod?: number;
    }
  | { kind: 'mkdir'; path: string; chown?: string };

export interface PlannedStep {
  /** 1-based; FROM is step 1. */
  step: number;
  line: number;
  /** The instruction as written, on one line. */
  display: string;
  /** The substituted instruction (and, for RUN, the build args it sees) as canonical JSON. */
  canonical: string;
  action: StepAction;
  /** The image config after this step. */
  config: ImageConfig;
}

/** Instructions recorded with no effect on the image (instructions.ts, RecordedInstruction). */
export interface RecordedMetadata {
  healthcheck?: string;
  stopSignal?: string;
  volumes?: string[];
  maintainer?: string;
  /** `FROM x AS name`. */
  stageName?: string;
}

export interface BodyPlan {
  steps: PlannedStep[];
  recorded: RecordedMetadata;
  warnings: string[];
}

type ArgValues = Map<string, string | undefined>;

/** FROM's image name (meta ARGs substituted) and the meta ARGs' values. */
export function planFrom(parsed: ParsedDockerfile, buildArgs: Record<string, string>): { name: string; metaArgs: ArgValues } {
  const metaArgs: ArgValues = new Map();
  for (const instr of parsed.metaArgs) declareArgs(instr, metaArgs, buildArgs, new Map(), parsed.escape);
  const lookup: VarLookup = (n) => metaArgs.get(n);
  const name = word(parsed.from.image, lookup, parsed.escape, parsed.from.line);
  if (name === '') throw invalid(parsed.from.line, 'FROM names no image after substitution');
  return { name, metaArgs };
}

/** Plans every step after FROM over the base image's config. */
export function planBody(
  parsed: ParsedDockerfile,
  buildArgs: Record<string, string>,
  metaArgs: ArgValues,
  base: ImageConfig,
): BodyPlan {
  const p = new Planner(parsed.escape, buildArgs, metaArgs, base);
  if (parsed.from.alias) p.recorded.stageName = parsed.from.alias;
  const steps = parsed.body.map((instr, i) => p.step(instr, i + 2));
  const declared = new Set([...metaArgs.keys(), ...p.stageArgs.keys()]);
  const unused = Object.keys(buildArgs).filter((k) => !declared.has(k));
  if (unused.length > 0) p.warnings.push(`build args not declared by any ARG (unused): ${unused.sort().join(', ')}`);
  return { steps, recorded: p.recorded, warnings: p.warnings };
}

function declareArgs(instr: ArgInstruction, into: ArgValues, buildArgs: Record<string, string>, meta: ArgValues, escape: string): void {
  for (const { name, default: def } of instr.args) {
    const env: VarLookup = (n) => into.get(n);
    if (Object.hasOwn(buildArgs, name)) into.set(name, buildArgs[name]);
    else if (def !== undefined) into.set(name, word(def, env, escape, instr.line));
    else into.set(name, meta.get(name));
  }
}

function word(raw: string, lookup: VarLookup, escape: string, line: number): string {
  return processed(raw, lookup, escape, line).value;
}

function processed(raw: string, lookup: VarLookup, escape: string, line: number): Processed {
  try {
    return processWord(raw, lookup, escape);
  } catch (err) {
    if (err instanceof SubstitutionError) throw invalid(line, err.message);
    throw err;
  }
}

function cloneConfig(c: ImageConfig): ImageConfig {
  return structuredClone(c);
}

class Planner {
  readonly stageArgs: ArgValues = new Map();
  readonly recorded: RecordedMetadata = {};
  readonly warnings: string[] = [];
  private config: ImageConfig;
  private shell = DEFAULT_SHELL;
  private cmdSet = false;

  constructor(
    private readonly escape: string,
    private readonly buildArgs: Record<string, string>,
    private readonly metaArgs: ArgValues,
    base: ImageConfig,
  ) {
    this.config = cloneConfig(base);
  }

  private lookup(): VarLookup {
    const args: Record<string, string | undefined> = Object.fromEntries(this.stageArgs);
    return lookupFrom(this.config.env, args);
  }

  private word(raw: string, line: number): string {
    return word(raw, this.lookup(), this.escape, line);
  }

  step(instr: Instruction, step: number): PlannedStep {
    const { action, canonical } = this.apply(instr);
    return { step, line: instr.line, display: instr.text, canonical: JSON.stringify(canonical), action, config: cloneConfig(this.config) };
  }

  /** Applies `instr` to the config; returns what the step does and its canonical form. */
  private apply(instr: Instruction): { action: StepAction; canonical: unknown[] } {
    const none: StepAction = { kind: 'config' };
    switch (instr.kind) {
      case 'FROM':
        throw invalid(instr.line, 'FROM inside the stage');
      case 'ARG':
        declareArgs(instr, this.stageArgs, this.buildArgs, this.metaArgs, this.escape);
        return { action: none, canonical: ['ARG', instr.text] };
      case 'ENV':
        return { action: none, canonical: ['ENV', this.env(instr.pairs, instr.line)] };
      case 'LABEL': {
        const pairs = instr.pairs.map(({ name, value }) => [name, this.word(value, instr.line)] as const);
        for (const [k, v] of pairs) this.config.labels[k] = v;
        return { action: none, canonical: ['LABEL', pairs] };
      }
      case 'RUN':
        return this.run(instr.command, instr.network);
      case 'CMD':
        this.config.cmd = this.argv(instr.command);
        this.cmdSet = true;
        return { action: none, canonical: ['CMD', this.config.cmd] };
      case 'ENTRYPOINT':
        this.config.entrypoint = this.argv(instr.command);
        if (!this.cmdSet) delete this.config.cmd;
        return { action: none, canonical: ['ENTRYPOINT', this.config.entrypoint] };
      case 'COPY':
      case 'ADD':
        return this.copy(instr);
      case 'WORKDIR': {
        const path = resolvePath(this.config.workingDir, this.word(instr.path, instr.line));
        this.config.workingDir = path;
        const action: StepAction = { kind: 'mkdir', path };
        if (this.config.user) action.chown = this.config.user;
        return { action, canonical: ['WORKDIR', path, this.config.user ?? null] };
      }
      case 'USER': {
        const user = this.word(instr.user, instr.line);
        if (user === '') throw invalid(instr.line, 'USER is empty after substitution');
        this.config.user = user;
        return { action: none, canonical: ['USER', user] };
      }
      case 'EXPOSE': {
        const words = instr.ports.flatMap((w) => processed(w, this.lookup(), this.escape, instr.line).words);
        const ports = exposedPorts(words, instr.line);
        for (const port of ports) if (!this.config.exposedPorts.includes(port)) this.config.exposedPorts.push(port);
        return { action: none, canonical: ['EXPOSE', ports] };
      }
      case 'SHELL':
        this.shell = instr.shell;
        return { action: none, canonical: ['SHELL', instr.shell] };
      default:
        return this.record(instr);
    }
  }

  /** ENV pairs: all substituted with the environment before the instruction (Docker's rule). */
  private env(raw: Array<{ name: string; value: string }>, line: number): Array<[string, string]> {
    const pairs = raw.map(({ name, value }) => [name, this.word(value, line)] as [string, string]);
    for (const [name, value] of pairs) {
      const entry = `${name}=${value}`;
      const at = this.config.env.findIndex((e) => e.startsWith(`${name}=`));
      if (at >= 0) this.config.env[at] = entry;
      else this.config.env.push(entry);
    }
    return pairs;
  }

  private argv(command: CommandForm): string[] {
    return command.form === 'exec' ? [...command.argv] : [...this.shell, command.text];
  }

  private run(command: CommandForm, network: 'default' | 'none' | undefined): { action: StepAction; canonical: unknown[] } {
    const argv = this.argv(command);
    const args = [...this.stageArgs].filter((e): e is [string, string] => e[1] !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const env = [...this.config.env];
    for (const [k, v] of args) if (!env.some((e) => e.startsWith(`${k}=`))) env.push(`${k}=${v}`);
    if (!env.some((e) => e.startsWith('PATH='))) env.push(`PATH=${DEFAULT_PATH}`);
    const action: StepAction = { kind: 'run', argv, env };
    if (network) action.network = network;
    return { action, canonical: ['RUN', argv, args, network ?? null] };
  }

  private copy(instr: CopyInstruction): { action: StepAction; canonical: unknown[] } {
    const sources = instr.sources.map((s) => this.word(s, instr.line));
    const rawDest = this.word(instr.dest, instr.line);
    if (rawDest === '') throw invalid(instr.line, `${instr.kind} destination is empty`);
    const destIsDir = rawDest.endsWith('/') || rawDest === '.' || rawDest.endsWith('/.');
    if (sources.length > 1 && !destIsDir) {
      throw invalid(instr.line, `with more than one source, the ${instr.kind} destination must be a directory ending in /`);
    }
    const action: StepAction = { kind: 'copy', add: instr.kind === 'ADD', sources, dest: resolvePath(this.config.workingDir, rawDest), destIsDir };
    if (instr.chown) action.chown = this.word(instr.chown, instr.line);
    if (instr.chmod) action.chmod = parseInt(instr.chmod, 8);
    return { action, canonical: [instr.kind, sources, action.dest, destIsDir, action.chown ?? null, action.chmod ?? null] };
  }

  private record(instr: Extract<Instruction, { kind: 'HEALTHCHECK' | 'STOPSIGNAL' | 'VOLUME' | 'MAINTAINER' }>) {
    const none: StepAction = { kind: 'config' };
    switch (instr.kind) {
      case 'HEALTHCHECK':
        this.recorded.healthcheck = instr.value;
        break;
      case 'STOPSIGNAL':
        this.recorded.stopSignal = this.word(instr.value, instr.line);
        break;
      case 'VOLUME': {
        const words = parseVolumes(instr.value).map((w) => this.word(w, instr.line));
        this.recorded.volumes = [...(this.recorded.volumes ?? []), ...words];
        break;
      }
      case 'MAINTAINER':
        this.recorded.maintainer = instr.value;
        break;
    }
    this.warnings.push(`line ${instr.line}: ${instr.kind} is recorded but has no effect in Warren`);
    return { action: none, canonical: [instr.kind, instr.value] };
  }
}

function parseVolumes(value: string): string[] {
  try {
    const v: unknown = JSON.parse(value);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // shell form
  }
  return value.split(/\s+/).filter(Boolean);
}

/** An absolute, normalised path: relative ones are taken from the working directory. */
export function resolvePath(workingDir: string | undefined, p: string): string {
  const abs = posix.isAbsolute(p) ? p : posix.join(workingDir ?? '/', p);
  const norm = posix.normalize(abs);
  return norm.length > 1 && norm.endsWith('/') ? norm.slice(0, -1) : norm;
}
