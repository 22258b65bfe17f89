/**
 * Filesystem errors of the runtime API's file routes as wire errors (errno → registered code).
 */
import { AppError, type ErrorCode } from '../../contract/errors.js';

/**
 * The caller's path met a condition of the workspace's own filesystem: each errno a caller can
 * cause is a 4xx naming it in `details.reason` (the errno only, never the OS message). Found by the
 * runtime fuzzer: deleting `/tmp`, a mount point in the sandbox, is EBUSY and was a 500.
 */
const CALLER_ERRNOS: Readonly<Record<string, { code: ErrorCode; message: string }>> = {
  EBUSY: { code: 'conflict', message: 'The path is busy (a mount point or in use)' },
  EEXIST: { code: 'conflict', message: 'The path already exists' },
  ENOTEMPTY: { code: 'conflict', message: 'The directory is not empty' },
  EISDIR: { code: 'bad_request', message: 'The path is a directory' },
  EINVAL: { code: 'bad_request', message: 'The operation is not valid for this path' },
  ELOOP: { code: 'bad_request', message: 'Too many symbolic links in the path' },
  EXDEV: { code: 'bad_request', message: 'The paths are on different filesystems' },
  EROFS: { code: 'forbidden', message: 'The path is on a read-only filesystem' },
  ENOSPC: { code: 'payload_too_large', message: 'No space left in the workspace' },
  EDQUOT: { code: 'payload_too_large', message: 'The workspace disk quota is exceeded' },
};

export function fsError(err: unknown, path: string): AppError {
  const code = (err as NodeJS.ErrnoException).code;
  const field = { field: 'path' };
  if (code === 'ENOENT' || code === 'ENOTDIR') return new AppError('not_found', `File not found: ${path}`, field);
  if (code === 'EACCES' || code === 'EPERM') return new AppError('forbidden', `Permission denied: ${path}`, field);
  if (code === 'ENAMETOOLONG') return new AppError('bad_request', 'Path too long', field);
  const known = code ? CALLER_ERRNOS[code] : undefined;
  if (known) return new AppError(known.code, `${known.message}: ${path}`, { ...field, reason: code });
  return new AppError('server_error', `Cannot access ${path}`, code && /^E[A-Z0-9]+$/.test(code) ? { reason: code } : undefined);
}

/**
 * The workspace's own temporary directory could not hold a spooled body: the caller's code can
 * remove or fill `/tmp` while an upload runs (the runtime fuzzer deleted it beside an upload).
 * A 409 (or 413 when full) with the errno, not a 500.
 */
export function spoolError(err: unknown): AppError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AppError('payload_too_large', 'No space left in the workspace to receive the body', { field: 'body', reason: code });
  }
  return new AppError('conflict', "The workspace's temporary directory could not hold the body (was /tmp removed?)", {
    field: 'body', ...(code && /^E[A-Z0-9]+$/.test(code) ? { reason: code } : {}),
  });
}
