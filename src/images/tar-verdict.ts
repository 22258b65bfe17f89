/**
 * What a client is told when tar refused an archive it sent (a build context, an ADD
 * source). tar's own lines name the tar program, the jail's paths and the members it
 * stumbled on; the client gets one fixed phrase for the kind of failure, and the full
 * stderr stays on the error (its `stderr`) for the server log.
 */
const VERDICTS: Array<[RegExp, string]> = [
  [/No space left on device|Disk quota exceeded/i, 'no space left to unpack it'],
  [/Unexpected EOF|unexpected end|truncated/i, 'it ends early (truncated)'],
  [/does not look like a tar archive|not in gzip format|invalid (compressed )?data|unknown compression|Skipping to next header|Archive contains .* obsolescent/i,
    'it is not a tar archive in a supported compression'],
  [/Cannot (open|create|mkdir|hard link|create symlink)|File exists|Not a directory|Is a directory/i, 'an entry collides with another entry'],
];

/** ` (<phrase>)` for the failure in `err.stderr`, or '' when it is of no known kind. */
export function tarVerdict(err: unknown): string {
  const stderr = String((err as { stderr?: unknown } | null)?.stderr ?? '');
  const hit = VERDICTS.find(([pattern]) => pattern.test(stderr));
  return hit ? ` (${hit[1]})` : '';
}
