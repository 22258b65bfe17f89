/**
 * Records → wire objects (seed 004 WorkspaceResponse ∪ SDK WorkspaceData). Pure.
 * `ready` and `provisioning` are kept consistent because the SDK's readiness loop
 * reads both (control-plane.md §2).
 */
import type { WorkspaceRecord, LifecycleState } from '../store/store.js';
import type { NetworkPolicy } from '../contract/workspace.js';
import type { PublicPortSummary } from './public-access.js';
import { ttlDeadline } from './deadlines.js';

const PHASE: Partial<Record<LifecycleState, string>> = {
  creating: 'preparing',
  starting: 'starting',
  restarting: 'starting',
  restoring: 'starting',
  deleting: 'deleting',
  failed: 'failed',
};

/**
 * Non-null while a create runs and once it failed — whatever the failure's code (an agent
 * that never answered is VM_UNAVAILABLE, not CREATE_FAILED): the SDK's readiness loop ends
 * only on `provisioning.state: 'failed'`, and otherwise waits out its whole timeout (600 s).
 * A failed workspace that never started is one whose create failed (as retryCreate judges).
 */
export function provisioningView(rec: WorkspaceRecord): Record<string, unknown> | null {
  if (rec.state === 'creating' || (rec.state === 'failed' && rec.error !== null && rec.startedAt === null)) {
    const failed = rec.state === 'failed';
    return {
      state: failed ? 'failed' : 'running',
      phase: failed ? 'failed' : PHASE[rec.state],
      message: failed ? rec.error?.message ?? 'Creation failed' : 'Provisioning the workspace',
      error: failed ? rec.error : null,
      created_at: rec.createdAt,
      updated_at: rec.updatedAt,
    };
  }
  if (rec.state === 'deleting') {
    return { state: 'running', phase: 'deleting', message: 'Deleting', error: null };
  }
  return null;
}

/** The `network` block of a workspace and the body of GET /network share these fields. */
export function networkFields(policy: NetworkPolicy): Record<string, unknown> {
  const ingress = [...policy.ingress];
  if (policy.public_access && !ingress.includes('host')) ingress.push('host');
  return {
    allow_internet: policy.allow_internet,
    ingress_ports: policy.ingress_ports,
    egress_ports: policy.egress_ports,
    egress: policy.allow_internet ? policy.egress : [],
    public_access: policy.public_access,
    ingress,
  };
}

export function uptimeSeconds(rec: WorkspaceRecord, now = Date.now()): number {
  if (!rec.startedAt || (rec.state !== 'running' && rec.state !== 'paused')) return 0;
  return Math.max(0, Math.floor((now - Date.parse(rec.startedAt)) / 1000));
}

/** `publicPorts`: the workspace's exposures (seed `public_ports`); callers that have them pass them. */
export function workspaceView(rec: WorkspaceRecord, publicPorts: PublicPortSummary[] = []): Record<string, unknown> {
  const running = rec.state === 'running';
  return {
    id: rec.id,
    name: rec.name,
    slug: rec.slug,
    namespace: rec.namespace,
    mode: rec.mode,
    image: rec.image,
    status: rec.state,
    ready: running,
    provisioning: provisioningView(rec),
    ip: rec.ip,
    uptime: uptimeSeconds(rec),
    start_time: rec.startedAt,
    info: {
      status: rec.state,
      is_running: running,
      user_requested_stop: rec.userRequestedStop,
    },
    // config.ssh_access is SSH's on/off switch (src/domain/ssh.ts keeps it; create with it enables SSH).
    access: { ssh_enabled: rec.config.ssh_access === true },
    network: networkFields(rec.network),
    public_ports: publicPorts,
    resources: {
      cpus: rec.config.cpus,
      memory_mb: rec.config.memory_mb,
      disk_size_mb: rec.config.disk_size_mb,
    },
    lifecycle: {
      ttl: rec.config.ttl,
      ttl_action: rec.config.ttl_action,
      remove_on_exit: rec.config.remove_on_exit,
      restart_policy: rec.config.restart_policy,
      ttl_expires_at: ttlExpiresAt(rec),
      restart_info: rec.lifecycle.restart,
      sleeping: rec.lifecycle.asleep !== null,
    },
    metadata: rec.metadata,
    created_at: rec.createdAt,
    updated_at: rec.updatedAt,
  };
}

export function ttlExpiresAt(rec: WorkspaceRecord): string | null {
  const at = ttlDeadline(rec);
  return at === null ? null : new Date(at).toISOString();
}

/** The raw VM config shown in details/config: what the driver was asked for. */
export function configView(rec: WorkspaceRecord): Record<string, unknown> {
  const { extra, ...rest } = rec.config;
  return { ...rest, ...extra, writable_size_mb: rec.config.disk_size_mb, image: rec.image, hostname: hostnameOf(rec) };
}

export function hostnameOf(rec: Pick<WorkspaceRecord, 'slug' | 'shortId'>): string {
  return rec.slug ?? `ws-${rec.shortId}`;
}
