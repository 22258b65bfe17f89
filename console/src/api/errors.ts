/**
 * Errors as the console shows them: the API's envelope (`code`, `message`, `details.field`)
 * read into one class, so forms can put a message at the field the API named.
 */
export interface ErrorEnvelope {
  success?: false;
  code?: string;
  error?: string;
  message?: string;
  details?: Record<string, unknown> & { field?: string; current_state?: string };
  request_id?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly details: Record<string, unknown>;
  readonly requestId: string | undefined;

  constructor(status: number, body: ErrorEnvelope | null, fallback: string) {
    super(body?.message || fallback);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.code || body?.error || (status === 0 ? 'network_error' : `http_${status}`);
    this.details = body?.details ?? {};
    this.field = typeof this.details.field === 'string' ? this.details.field : undefined;
    this.requestId = body?.request_id;
  }

  /** The error a non-2xx response carries (its JSON envelope when it has one). */
  static async from(res: Response, fallback: string): Promise<ApiError> {
    const envelope = await res.json().catch(() => null) as ErrorEnvelope | null;
    return new ApiError(res.status, envelope, fallback);
  }

  /** The state the API said the workspace is in (409s carry it). */
  get currentState(): string | undefined {
    const s = this.details.current_state;
    return typeof s === 'string' ? s : undefined;
  }
}

/** A human sentence for any thrown value. */
export function describe(err: unknown): string {
  if (err instanceof ApiError) {
    const state = err.currentState ? ` (the workspace is ${err.currentState})` : '';
    return `${err.message}${state}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Reads the field a validation error names, relative to a form prefix (`config.cpus` → `cpus`). */
export function fieldOf(err: unknown): string | undefined {
  if (!(err instanceof ApiError) || !err.field) return undefined;
  return err.field.replace(/^(config|body)\./, '');
}
