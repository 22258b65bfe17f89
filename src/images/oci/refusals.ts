/**
 * The refusals of archive I/O, all AppErrors on `details.field: 'archive'` (codes registered in
 * src/contract/errors.ts). Messages are for people and never carry host paths or tool output;
 * what a tool said goes into the error's `cause`, for the server's log only.
 */
import { AppError, isAppError } from '../../contract/errors.js';

const FIELD = 'archive';

/** Not a readable OCI / docker-save archive, or a blob that does not match its digest. */
export function invalid(message: string, cause?: unknown): AppError {
  return withCause(new AppError('IMAGE_ARCHIVE_INVALID', message, { field: FIELD }), cause);
}

/** An entry that would write outside the layer or make something a layer must not hold. */
export function unsafe(message: string): AppError {
  return new AppError('IMAGE_ARCHIVE_UNSAFE', message, { field: FIELD });
}

/** A layer over the unpacked-size or entry cap (a layer bomb). */
export function tooLarge(message: string): AppError {
  return new AppError('IMAGE_TOO_LARGE', message, { field: FIELD });
}

/** A well-formed archive Warren cannot use (platform, compression, media type, file names). */
export function unsupported(message: string): AppError {
  return new AppError('IMAGE_ARCHIVE_UNSUPPORTED', message, { field: FIELD });
}

function withCause(err: AppError, cause: unknown): AppError {
  if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, enumerable: false });
  return err;
}

/**
 * What a failure while reading a layer becomes: our own refusals pass through, a full disk is
 * `insufficient_storage`, any other stream error (tar, gzip, zstd) means the layer is corrupt.
 * Host errors that are not about the archive (EACCES, EIO…) stay what they are: server errors.
 */
export function asLayerError(err: unknown, layerLabel: string): unknown {
  if (isAppError(err)) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AppError('insufficient_storage', 'Not enough disk space to unpack the image', { field: FIELD });
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return err; // errno of the host, not of the data
  return invalid(`${layerLabel} is not a valid layer (corrupt tar or compression)`, err);
}
