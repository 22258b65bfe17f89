/**
 * Parses a Dockerfile into typed instructions (instructions.ts) with `dockerfile-ast`
 * (rcjsuen's parser, used by the VS Code Docker extension): it splits instructions over
 * continuations, comments and the `# escape=` directive, gives keywords, line numbers,
 * heredocs and the name/value pairs of ENV, LABEL and ARG. The few text rules it leaves
 * to callers are in dockerfile-text.ts. Pure.
 *
 * Refusals (AppError, `details.field = 'dockerfile'`, `details.line`, message naming the line):
 * - `DOCKERFILE_INVALID`: unknown instruction, missing FROM, an instruction other than ARG
 *   before FROM, missing or malformed arguments, an unknown flag value;
 * - `DOCKERFILE_UNSUPPORTED`: multi-stage builds (a second FROM, `COPY --from`), ONBUILD,
 *   heredocs, ADD of a URL or git repository, RUN --mount/--security, FROM --platform,
 *   any flag Warren does not implement.
 */
import { Copy, DockerfileParser, ModifiableInstruction, Run, type Instruction as AstInstruction, type PropertyInstruction, type Property } from 'dockerfile-ast';
import { AppError } from '../../contract/errors.js';
import type {
  ArgInstruction,
  CommandForm,
  CopyInstruction,
  FromInstruction,
  Instruction,
  PairsInstruction,
  ParsedDockerfile,
  RecordedInstruction,
  RunInstruction,
} from './instructions.js';
import { displayText, joinContinuations, parseExecForm, splitWords, type Flag } from './dockerfile-text.js';

/** Dockerfiles larger than this are refused (a build file, not a data file). */
export const MAX_DOCKERFILE_BYTES = 1024 * 1024;

const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function invalid(line: number, message: string): AppError {
  return new AppError('DOCKERFILE_INVALID', `Dockerfile line ${line}: ${message}`, { field: 'dockerfile', line });
}

export function unsupported(line: number, message: string): AppError {
  return new AppError('DOCKERFILE_UNSUPPORTED', `Dockerfile line ${line}: ${message}`, { field: 'dockerfile', line });
}

/** Parses `text`; throws DOCKERFILE_INVALID / DOCKERFILE_UNSUPPORTED on the first problem. */
export function parseDockerfile(source: string): ParsedDockerfile {
  // Docker ignores a UTF-8 byte order mark at the start.
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  if (Buffer.byteLength(text) > MAX_DOCKERFILE_BYTES) {
    throw new AppError('DOCKERFILE_INVALID', `the Dockerfile is larger than ${MAX_DOCKERFILE_BYTES} bytes`, { field: 'dockerfile' });
  }
  const df = DockerfileParser.parse(text);
  const reader = new Reader(text, df.getEscapeCharacter());
  const metaArgs: ArgInstruction[] = [];
  let from: FromInstruction | undefined;
  const body: Instruction[] = [];
  for (const ast of df.getInstructions()) {
    const parsed = reader.instruction(ast);
    if (!from) {
      if (parsed.kind === 'ARG') metaArgs.push(parsed);
      else if (parsed.kind === 'FROM') from = parsed;
      else throw invalid(parsed.line, `${parsed.kind} before FROM: a Dockerfile starts with FROM (only ARG may come before it)`);
    } else if (parsed.kind === 'FROM') {
      throw unsupported(parsed.line, 'multi-stage builds (a second FROM) are not supported; build one stage per Dockerfile');
    } else {
      body.push(parsed);
    }
  }
  if (!from) throw new AppError('DOCKERFILE_INVALID', 'the Dockerfile has no FROM instruction', { field: 'dockerfile' });
  return { escape: reader.escape, metaArgs, from, body };
}

/** Turns one dockerfile-ast instruction into ours; knows the source text for exact slices. */
class Reader {
  private readonly lineStarts: number[] = [0];

  constructor(
    private readonly text: string,
    readonly escape: string,
  ) {
    const re = /\r\n|\r|\n/g;
    for (let m = re.exec(text); m; m = re.exec(text)) this.lineStarts.push(m.index + m[0].length);
  }

  private slice(range: { start: { line: number; character: number }; end: { line: number; character: number } }): string {
    const at = (p: { line: number; character: number }) => (this.lineStarts[p.line] ?? this.text.length) + p.character;
    return this.text.slice(at(range.start), at(range.end));
  }

  instruction(ast: AstInstruction): Instruction {
    const line = ast.getRange().start.line + 1;
    const keyword = ast.getKeyword();
    // For RUN, COPY, ADD and FROM the arguments exclude the flags, which come from getFlags().
    const args = joinContinuations(ast.getRawArgumentsContent() ?? '', this.escape).trim();
    const whole = joinContinuations(this.slice(ast.getRange()), this.escape).trim();
    const text = displayText(keyword, whole.replace(/^\S+\s*/, ''));
    const flags = ast instanceof ModifiableInstruction ? ast.getFlags().map((f) => ({ name: f.getName(), value: f.getValue() })) : [];
    if ((ast instanceof Run || ast instanceof Copy) && ast.getHeredocs().length > 0) {
      throw unsupported(line, `heredocs (<<EOF) in ${keyword} are not supported; use a script file and COPY it`);
    }
    switch (keyword) {
      case 'FROM':
        return this.from(line, text, args, flags);
      case 'ARG':
        return this.arg(ast as PropertyInstruction, line, text);
      case 'ENV':
      case 'LABEL':
        return this.pairs(ast as PropertyInstruction, keyword, line, text);
      case 'RUN':
        return this.run(line, text, args, flags);
      case 'CMD':
      case 'ENTRYPOINT':
        return { kind: keyword, line, text, command: command(keyword, line, args) };
      case 'COPY':
      case 'ADD':
        return this.copy(keyword, line, text, args, flags);
      case 'WORKDIR':
        return { kind: 'WORKDIR', line, text, path: required(keyword, line, args) };
      case 'USER':
        return { kind: 'USER', line, text, user: required(keyword, line, args) };
      case 'EXPOSE':
        return { kind: 'EXPOSE', line, text, ports: splitWords(required(keyword, line, args)) };
      case 'SHELL':
        return this.shell(line, text, args);
      case 'HEALTHCHECK':
      case 'STOPSIGNAL':
      case 'VOLUME':
      case 'MAINTAINER':
        return { kind: keyword, line, text, value: required(keyword, line, args) } satisfies RecordedInstruction;
      case 'ONBUILD':
        throw unsupported(line, 'ONBUILD is not supported (Warren images carry no triggers)');
      default:
        throw invalid(line, `unknown instruction ${JSON.stringify(keyword.slice(0, 40))}`);
    }
  }

  private from(line: number, text: string, args: string, flags: Flag[]): FromInstruction {
    if (flags.length > 0) throw unsupported(line, `FROM --${flags[0]?.name} is not supported`);
    const words = splitWords(args);
    if (words.length === 1) return { kind: 'FROM', line, text, image: words[0] ?? '' };
    if (words.length === 3 && words[1]?.toLowerCase() === 'as') return { kind: 'FROM', line, text, image: words[0] ?? '', alias: words[2] };
    throw invalid(line, 'FROM takes an image name, optionally followed by AS <name>');
  }

  /** ARG words (quote-aware, from getPropertyArguments): each `name` or `name=default`. */
  private arg(ast: PropertyInstruction, line: number, text: string): ArgInstruction {
    const words = ast.getPropertyArguments().map((a) => joinContinuations(this.slice(a.getRange()), this.escape));
    if (words.length === 0) throw invalid(line, 'ARG needs a name');
    const args = words.map((w) => {
      const eq = w.indexOf('=');
      const name = eq < 0 ? w : w.slice(0, eq);
      if (!ARG_NAME.test(name)) throw invalid(line, `ARG name ${JSON.stringify(name.slice(0, 60))} is not valid`);
      return eq < 0 ? { name } : { name, default: w.slice(eq + 1) };
    });
    return { kind: 'ARG', line, text, args };
  }

  private pairs(ast: PropertyInstruction, kind: 'ENV' | 'LABEL', line: number, text: string): PairsInstruction {
    const props = ast.getProperties();
    if (props.length === 0) throw invalid(line, `${kind} needs at least one name=value pair`);
    const pairs = props.map((p) => {
      const value = this.value(p);
      if (p.getName() === '' || value === null) throw invalid(line, `${kind} needs name=value pairs (or "${kind} name value")`);
      return { name: p.getName(), value };
    });
    return { kind, line, text, pairs };
  }

  /** A property's value exactly as written (quotes kept), continuations joined; null when absent. */
  private value(p: Property): string | null {
    const range = p.getValueRange();
    if (range) return joinContinuations(this.slice(range), this.escape);
    return p.getAssignmentOperator() === null ? null : '';
  }

  private run(line: number, text: string, args: string, flags: Flag[]): RunInstruction {
    let network: RunInstruction['network'];
    for (const flag of flags) {
      if (flag.name !== 'network') throw unsupported(line, `RUN --${flag.name} is not supported`);
      if (flag.value !== 'none' && flag.value !== 'default') throw unsupported(line, 'RUN --network takes none or default');
      network = flag.value;
    }
    const instruction: RunInstruction = { kind: 'RUN', line, text, command: command('RUN', line, args) };
    if (network) instruction.network = network;
    return instruction;
  }

  private copy(kind: 'COPY' | 'ADD', line: number, text: string, args: string, flags: Flag[]): CopyInstruction {
    const out: CopyInstruction = { kind, line, text, sources: [], dest: '' };
    for (const flag of flags) applyCopyFlag(out, flag);
    const words = parseExecForm(args) ?? splitWords(args);
    if (words.length < 2) throw invalid(line, `${kind} needs at least one source and a destination`);
    out.sources = words.slice(0, -1);
    out.dest = words[words.length - 1] ?? '';
    for (const src of out.sources) {
      if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(src) || /^git@/.test(src)) {
        throw unsupported(line, `${kind} of a URL or git repository is not supported (builds fetch nothing); download it into the context and COPY it`);
      }
    }
    return out;
  }

  private shell(line: number, text: string, args: string): Instruction {
    const argv = parseExecForm(args);
    if (!argv || argv.length === 0) throw invalid(line, 'SHELL takes a JSON array, e.g. SHELL ["/bin/bash", "-c"]');
    return { kind: 'SHELL', line, text, shell: argv };
  }
}

function required(keyword: string, line: number, args: string): string {
  if (args === '') throw invalid(line, `${keyword} needs an argument`);
  return args;
}

function command(keyword: string, line: number, args: string): CommandForm {
  const argv = parseExecForm(args);
  if (argv) {
    if (argv.length === 0 && keyword === 'RUN') throw invalid(line, 'RUN needs a command');
    return { form: 'exec', argv };
  }
  return { form: 'shell', text: required(keyword, line, args) };
}

function applyCopyFlag(out: CopyInstruction, flag: Flag): void {
  const { line, kind } = out;
  switch (flag.name) {
    case 'chown':
      if (!flag.value) throw invalid(line, `${kind} --chown needs a value (user, user:group, uid or uid:gid)`);
      out.chown = flag.value;
      return;
    case 'chmod':
      if (!flag.value || !/^[0-7]{3,4}$/.test(flag.value)) throw unsupported(line, `${kind} --chmod takes an octal mode such as 0755`);
      out.chmod = flag.value;
      return;
    case 'link':
      // --link only changes how BuildKit stacks the layer; the files are the same.
      return;
    case 'from':
      throw unsupported(line, `${kind} --from (multi-stage builds) is not supported`);
    default:
      throw unsupported(line, `${kind} --${flag.name.slice(0, 40)} is not supported`);
  }
}
