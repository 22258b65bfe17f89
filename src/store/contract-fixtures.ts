/**
 * Records and handles the store contract suites share (and unit tests of pure domain
 * logic that need a realistic record).
 */
import type { WorkspaceRecord, Store } from './store.js';

export interface StoreHandle {
  store: Store;
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

/**
 * The handle of a contract-suite store: `open` opens a (migrated) store on one backing
 * database, every opened store is closed at cleanup, then `removeBacking` deletes it.
 */
export async function handleFor(open: () => Promise<Store>, removeBacking: () => Promise<void> | void): Promise<StoreHandle> {
  const opened: Store[] = [];
  const reopen = async () => {
    const s = await open();
    opened.push(s);
    return s;
  };
  return {
    store: await reopen(),
    reopen,
    cleanup: async () => {
      for (const s of opened) await s.close();
      await removeBacking();
    },
  };
}

let serial = 0;

/** A complete record with nested JSON, unicode and every nullable field filled in. */
export function sampleWorkspace(overrides: Partial<WorkspaceRecord> = {}): WorkspaceRecord {
  const n = ++serial;
  return {
    id: `ws_${n.toString().padStart(6, '0')}`,
    shortId: `s${n.toString(36)}x`,
    name: `Workspace ${n} — ünïcode ✓`,
    slug: `slug-${n}`,
    namespace: 'team-a',
    mode: 'permanent',
    image: 'node:20',
    imageId: `sha256:${'ab'.repeat(32)}`,
    state: 'running',
    pending: { op: 'start', startedAt: '2026-01-02T03:04:05.678Z' },
    userRequestedStop: true,
    config: {
      cpus: 2,
      memory_mb: 1024,
      disk_size_mb: 2048,
      ttl: 3600,
      ttl_action: 'pause',
      remove_on_exit: false,
      restart_policy: 'on-failure',
      max_restarts: 3,
      keep_logs: true,
      static_network: false,
      network_config: { allow_internet: true, public_ingress: false },
      ssh_access: true,
      env: [{ key: 'A', value: 'x=y "quoted" \n newline' }, { key: 'EMPTY', value: '' }],
      cmd: ['/bin/sh', '-c', 'echo hi'],
      workloads: [{
        id: 'wl_fixture', name: 'w', cmd: ['sleep', '1'], env: { K: 'v "q"' }, restart_policy: 'always', max_restarts: 0,
        restart_delay_ms: 1500, restart_backoff: false, max_log_size_mb: 3, vm_on_exit: 'stop', enabled: false,
        labels: { a: 'b' }, annotations: {}, extra: { nested: { deep: [1, null, 'x', { z: false }] } },
        created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
      }],
      wait_for_init: true,
      proxy_assignment_id: null,
      extra: { idle: { timeout: '5m' }, desktop: null, ready_check: [1.5, -2] },
    },
    network: {
      allow_internet: false,
      public_access: true,
      ingress: ['10.0.0.0/8'],
      ingress_ports: [80, 443],
      egress: [],
      egress_ports: [53],
      private_link_ids: ['pl_1'],
      outbound_ip: null,
    },
    ip: `10.88.${Math.floor(n / 250)}.${(n % 250) + 2}`,
    apiAccess: { enabled: true, rawToken: 'ab'.repeat(32), generation: 4 },
    metadata: { owner: 'zoë', 'key with spaces': 'value', empty: '' },
    lifecycle: {
      restart: {
        count: 2, last_exit_code: 137, last_exit_reason: 'oom', last_exit_at: '2026-01-01T00:00:02.000Z',
        last_restart_at: '2026-01-01T00:00:03.000Z', next_restart_at: null,
      },
      asleep: { since: '2026-01-01T00:00:04.000Z', state: 'paused' },
    },
    idempotencyKey: `idem-${n}`,
    error: { code: 'CREATE_FAILED', message: 'overlay mount failed' },
    createdAt: `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}.000Z`,
    updatedAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:01.000Z',
    nodeId: 'node-a',
    version: 1,
    ...overrides,
  };
}

/** Same as sampleWorkspace but with every nullable field null. */
export function minimalWorkspace(overrides: Partial<WorkspaceRecord> = {}): WorkspaceRecord {
  return sampleWorkspace({
    slug: null,
    namespace: null,
    pending: null,
    idempotencyKey: null,
    error: null,
    startedAt: null,
    nodeId: null,
    userRequestedStop: false,
    metadata: {},
    ...overrides,
  });
}
