/**
 * Typed Dockerfile instructions as the parser hands them to the planner (pure types).
 *
 * Words are *unprocessed*: quotes, escapes and `$VAR` substitution are applied by the
 * planner, which knows the environment at each step (substitute.ts). `line` is the
 * 1-based line the instruction starts on; `text` is its display form (keyword and
 * arguments on one line, continuations joined, runs of blanks collapsed).
 */

/** RUN, CMD, ENTRYPOINT: exec form (a JSON array) is kept; shell form is the joined text. */
export type CommandForm = { form: 'exec'; argv: string[] } | { form: 'shell'; text: string };

interface Base {
  line: number;
  text: string;
}

export interface FromInstruction extends Base {
  kind: 'FROM';
  image: string;
  /** `FROM x AS y`: recorded; only one stage is supported. */
  alias?: string;
}

export interface ArgInstruction extends Base {
  kind: 'ARG';
  args: Array<{ name: string; default?: string }>;
}

export interface PairsInstruction extends Base {
  kind: 'ENV' | 'LABEL';
  pairs: Array<{ name: string; value: string }>;
}

export interface RunInstruction extends Base {
  kind: 'RUN';
  command: CommandForm;
  /** `RUN --network=none|default`; unset means the build's policy. */
  network?: 'default' | 'none';
}

export interface CommandInstruction extends Base {
  kind: 'CMD' | 'ENTRYPOINT';
  command: CommandForm;
}

export interface CopyInstruction extends Base {
  kind: 'COPY' | 'ADD';
  sources: string[];
  dest: string;
  chown?: string;
  /** Octal mode applied to everything copied (`--chmod=0755`). */
  chmod?: string;
}

export interface WorkdirInstruction extends Base {
  kind: 'WORKDIR';
  path: string;
}

export interface UserInstruction extends Base {
  kind: 'USER';
  user: string;
}

export interface ExposeInstruction extends Base {
  kind: 'EXPOSE';
  ports: string[];
}

export interface ShellInstruction extends Base {
  kind: 'SHELL';
  shell: string[];
}

/**
 * Accepted and recorded in the build's metadata, with no effect on the image Warren runs:
 * Warren runs no health checks, stops workspaces its own way, keeps the whole root
 * persistent (so VOLUME has nothing to do) and has no Author field.
 */
export interface RecordedInstruction extends Base {
  kind: 'HEALTHCHECK' | 'STOPSIGNAL' | 'VOLUME' | 'MAINTAINER';
  /** The arguments as written (continuations joined). */
  value: string;
}

export type Instruction =
  | FromInstruction
  | ArgInstruction
  | PairsInstruction
  | RunInstruction
  | CommandInstruction
  | CopyInstruction
  | WorkdirInstruction
  | UserInstruction
  | ExposeInstruction
  | ShellInstruction
  | RecordedInstruction;

export interface ParsedDockerfile {
  /** The escape character (`\` unless `# escape=` says otherwise). */
  escape: string;
  /** ARG instructions before FROM: usable in FROM, and inside the stage when re-declared. */
  metaArgs: ArgInstruction[];
  from: FromInstruction;
  /** The instructions after FROM, in order. */
  body: Instruction[];
}
