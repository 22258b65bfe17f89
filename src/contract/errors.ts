/**
 * The one error-code registry of Warren. Every error that crosses the wire is an
 * `AppError` whose `code` is listed here; the code decides the HTTP status, in this
 * one place. Messages are for humans; clients match on `code` (and `details.field`).
 *
 * Codes are lower_snake or UPPER_SNAKE so that the official client treats them as
 * machine codes (spec README §4.3).
 */
export const ERROR_STATUS = {
  // generic
  bad_request: 400,
  validation_error: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  // a request whose headers or body stopped arriving (src/config/limits.ts)
  request_timeout: 408,
  payload_too_large: 413,
  rate_limited: 429,
  server_error: 500,
  not_implemented: 501,
  service_unavailable: 503,
  gateway_timeout: 504,
  // workspace create (seed 004)
  MISSING_USER_ID: 401,
  INVALID_NAMESPACE: 400,
  INVALID_NAME_LENGTH: 400,
  INVALID_IMAGE: 400,
  INVALID_CONFIG: 400,
  SANDBOX_LIMIT_REACHED: 409,
  NAMESPACE_LIMIT_REACHED: 409,
  POOL_LIMIT_REACHED: 409,
  RUNNING_POOL_REACHED: 402,
  RESOURCE_NOT_ALLOWED: 403,
  VM_UNAVAILABLE: 503,
  // Warren extension: a host limit no setting lifts (details.limit; e.g. 'bridge_ports': 1,023 workspaces per bridge;
  // 'ready_nodes' / 'node_capacity': no ready node, or none with room, in a fleet: src/domain/nodes.ts)
  HOST_CAPACITY_REACHED: 409,
  CREATE_FAILED: 500,
  // lifecycle
  invalid_state: 409,
  idle_not_allowed: 409,
  workspace_waking: 503,
  // a settled workspace whose disk is not on this host (restored from a backup): src/domain/reconciler.ts
  workspace_disk_missing: 409,
  // nodes (Warren extension, issue 16, src/domain/nodes.ts): the workspace's node stopped heartbeating;
  // a private link between workspaces on different nodes (no cross-node overlay yet); an unknown node id
  node_lost: 503,
  cross_node_link: 409,
  node_not_found: 404,
  // snapshots, archives, resources (control-plane.md §9, §10)
  archive_corrupted: 409,
  archive_too_large: 409,
  disk_shrink_not_supported: 409,
  memory_in_use: 409,
  insufficient_storage: 507,
  // runtime gateway
  public_access_required: 403,
  runtime_api_disabled: 403,
  workspace_not_running: 409,
  agent_unreachable: 502,
  unknown_target: 404,
  method_not_allowed: 405,
  spawn_failed: 500,
  // runtime reverse proxy (runtime.md §11): nothing listens on the loopback target
  upstream_unreachable: 502,
  // network (seed 000)
  ip_required: 400,
  invalid_zone_ip: 400,
  zone_missing_host: 422,
  pool_empty: 503,
  // public access (control-plane.md §8)
  port_reserved: 400,
  slug_taken: 409,
  domain_not_verified: 400,
  public_port_limit_reached: 400,
  // namespaces (control-plane.md §21)
  namespace_suspended: 403,
  // namespace quotas (control-plane.md §21): credits used reached limit + overdraft
  QUOTA_EXCEEDED: 402,
  // workloads (control-plane.md §11)
  workload_not_found: 404,
  workload_limit_reached: 409,
  workload_exists: 409,
  // SSH (control-plane.md §7): no sshd bundle or jump host on this server, or sshd did not start
  ssh_unavailable: 503,
  // images (Warren extension, issue 12): unknown name; still used by workspaces; a catalog name
  image_not_found: 404,
  image_in_use: 409,
  image_name_reserved: 409,
  // Dockerfile builds (Warren extension, issue 12; details.field = 'dockerfile' with the
  // line, or 'context'): a syntax error; an instruction or flag Warren does not build;
  // a COPY/ADD source outside the context, or missing/excluded; an unknown FROM image;
  // a RUN that exited non-zero (the request was fine, the build was not: 422)
  DOCKERFILE_INVALID: 400,
  DOCKERFILE_UNSUPPORTED: 400,
  BUILD_CONTEXT_ESCAPE: 400,
  BUILD_SOURCE_NOT_FOUND: 400,
  BUILD_BASE_NOT_FOUND: 404,
  BUILD_STEP_FAILED: 422,
  // image archives (issue 12, src/images/oci/): not a readable OCI/docker-save archive or a blob
  // not matching its digest; a path or link that would write outside the layer, a device node;
  // a layer over the unpacked-size or entry cap; a valid archive Warren cannot use (platform,
  // compression, media type)
  IMAGE_ARCHIVE_INVALID: 400,
  IMAGE_ARCHIVE_UNSAFE: 400,
  IMAGE_TOO_LARGE: 413,
  IMAGE_ARCHIVE_UNSUPPORTED: 415,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetails {
  field?: string;
  [key: string]: unknown;
}

/** A domain or input error with a stable machine code. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: ErrorDetails;

  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Shorthand constructors for the common cases. */
export const errors = {
  notFound: (what: string, field?: string) =>
    new AppError('not_found', `${what} not found`, field ? { field } : undefined),
  validation: (field: string, message: string) =>
    new AppError('validation_error', message, { field }),
  badRequest: (field: string, message: string) =>
    new AppError('bad_request', message, { field }),
  unauthorized: (message = 'Invalid or missing credentials') =>
    new AppError('unauthorized', message),
  forbidden: (message: string) => new AppError('forbidden', message),
  invalidState: (message: string, current: string, action: string) =>
    new AppError('invalid_state', message, { current_state: current, action }),
};
