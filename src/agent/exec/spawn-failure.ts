/**
 * What a caller is told about a process that did not start. Node's spawn error names the
 * errno (`spawn <file> ENOENT`), but other failures (bad options, resource limits) carry
 * Node's own text; only the errno code crosses the wire, never that text.
 */

/** The errno code of a spawn failure (`ENOENT`, `EACCES`), when it has one. */
export function spawnErrorCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** `spawn <file> <ERRNO>` (the file is the caller's own command), or a fixed sentence. */
export function spawnFailureText(err: unknown, file: string): string {
  const code = spawnErrorCode(err);
  return code ? `spawn ${file.slice(0, 200)} ${code}` : 'the command could not be started';
}
