/**
 * The refusals of `warren backup` / `warren restore`. Each is one line (the CLI prints
 * `warren: <message>` and exits 1); `kind` is stable for tests and scripts, the message
 * starts with a fixed phrase per kind and then names what was found.
 */
export type BackupErrorKind =
  | 'not_found'
  | 'corrupt'
  | 'checksum_mismatch'
  | 'unsafe_entry'
  | 'server_running'
  | 'newer_schema'
  | 'not_empty'
  | 'unsupported';

export class BackupError extends Error {
  constructor(readonly kind: BackupErrorKind, message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'BackupError';
  }
}
