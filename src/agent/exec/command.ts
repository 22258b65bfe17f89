/**
 * How an exec request's `cmd` becomes a process (runtime.md §5.1):
 *   shell  → /bin/sh -c "<elements joined by spaces>"
 *   direct → argv as given (a string is split on whitespace)
 *   auto   → shell when needed, else direct:
 *            - a string or one-element array with shell syntax or whitespace → shell;
 *            - a longer array is direct (each element is one argument, so
 *              ["sh","-c","a | b"] stays intact) unless an element is a bare shell
 *              operator such as "|" or "&&" (`oblien exec ws -- a '|' b`), in which
 *              case the other elements are quoted and the line runs in the shell.
 */
import { AppError } from '../../contract/errors.js';

export type ExecMode = 'auto' | 'shell' | 'direct';

export interface ResolvedCommand {
  file: string;
  args: string[];
  /** The command as reported back in the task (`command`). */
  command: string[];
  mode: 'shell' | 'direct';
}

const SHELL_SYNTAX = /[|&;<>()$`\\"'*?[\]#~{}\n\s]/;
const SHELL_OPERATORS = new Set(['|', '||', '&', '&&', ';', '>', '>>', '<', '<<', '2>', '2>&1', '&>', '|&']);

export const SHELL = '/bin/sh';

/** Validates `cmd` (string or non-empty string[]) and returns its argv form. */
export function parseCmd(cmd: unknown): string[] {
  const parts: unknown[] = Array.isArray(cmd) ? cmd : [cmd];
  if (parts.some((c) => typeof c === 'string' && c.includes('\0'))) {
    throw new AppError('bad_request', 'cmd must not contain NUL bytes', { field: 'cmd' });
  }
  if (typeof cmd === 'string') {
    if (cmd.trim().length === 0) throw new AppError('bad_request', 'cmd must not be empty', { field: 'cmd' });
    return [cmd];
  }
  if (Array.isArray(cmd) && cmd.length > 0 && cmd.every((c) => typeof c === 'string')) {
    if ((cmd[0] as string).length === 0) {
      throw new AppError('bad_request', 'cmd[0] must not be empty', { field: 'cmd' });
    }
    return cmd as string[];
  }
  throw new AppError('bad_request', 'cmd is required: a string or a non-empty array of strings', { field: 'cmd' });
}

export function parseMode(mode: unknown): ExecMode {
  if (mode === undefined || mode === null || mode === '') return 'auto';
  if (mode === 'auto' || mode === 'shell' || mode === 'direct') return mode;
  throw new AppError('bad_request', 'exec_mode must be auto, shell or direct', { field: 'exec_mode' });
}

export function resolveCommand(cmd: string[], mode: ExecMode): ResolvedCommand {
  if (mode === 'shell') return shell(cmd.join(' '), cmd);
  if (mode === 'direct') {
    const argv = cmd.length === 1 ? (cmd[0] as string).trim().split(/\s+/) : cmd;
    return { file: argv[0] as string, args: argv.slice(1), command: cmd, mode: 'direct' };
  }
  if (cmd.length === 1) {
    const line = cmd[0] as string;
    if (SHELL_SYNTAX.test(line.trim())) return shell(line, cmd);
    return { file: line, args: [], command: cmd, mode: 'direct' };
  }
  if (cmd.some((c) => SHELL_OPERATORS.has(c))) {
    return shell(cmd.map((c) => (SHELL_OPERATORS.has(c) ? c : shellQuote(c))).join(' '), cmd);
  }
  return { file: cmd[0] as string, args: cmd.slice(1), command: cmd, mode: 'direct' };
}

function shell(line: string, command: string[]): ResolvedCommand {
  return { file: SHELL, args: ['-c', line], command, mode: 'shell' };
}

/** POSIX single-quote quoting. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
