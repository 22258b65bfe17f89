/**
 * Composition of what looks inside a workspace through its agent: workloads (with their
 * stats sampler and the vm_on_exit watch) and the workspace logs (host boot log + the
 * agent's cmd and workload logs). Part of the composition root (src/server.ts).
 */
import { AGENT_PORT } from './domain/ports.js';
import type { AgentControlPort, AgentTarget, BootLogPort } from './domain/ports.js';
import { controlDirOf } from './domain/sandbox-spec.js';
import { WorkloadService } from './domain/workloads.js';
import { WorkloadStatsHub, type WorkloadCounters } from './domain/workload-stats.js';
import { WorkloadExitWatch } from './domain/workload-exits.js';
import { WorkspaceLogs } from './domain/workspace-logs.js';
import type { ExitHandler } from './domain/exits.js';
import type { WorkspaceService } from './domain/workspaces.js';
import { AgentControlClient } from './gateway/agent-control.js';
import type { Store, WorkspaceRecord } from './store/store.js';

export interface WorkloadPlaneInput {
  store: Store;
  workspaces: WorkspaceService;
  exits: ExitHandler;
  bootLog: BootLogPort;
  workspacesDir: string;
  statsIntervalMs: number;
  /**
   * How agents are reached when not from this host (a control replica: through their node,
   * src/fleet/fleet-agent-control.ts). Absent: this host's AgentControlClient and control dirs.
   */
  agentReach?: { agent: AgentControlPort; target: (rec: WorkspaceRecord) => AgentTarget };
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export function createWorkloadPlane(i: WorkloadPlaneInput) {
  const agent = i.agentReach?.agent ?? new AgentControlClient();
  const target = i.agentReach?.target
    ?? ((rec: WorkspaceRecord): AgentTarget => ({ ip: rec.ip, port: AGENT_PORT, controlDir: controlDirOf(i.workspacesDir, rec.id) }));
  const stats = new WorkloadStatsHub(async (rec) => {
    const res = await agent.call<{ stats?: WorkloadCounters[] }>(target(rec), 'GET', '/_warren/workloads/stats');
    return (res.stats ?? []).filter((s) => typeof s?.workload_id === 'string').map((s) => ({
      workload_id: s.workload_id,
      status: typeof s.status === 'string' ? s.status : 'unknown',
      cpu_usage_ns: Number(s.cpu_usage_ns) || 0,
      memory_bytes: Number(s.memory_bytes) || 0,
      pids: Number(s.pids) || 0,
    }));
  }, i.statsIntervalMs);
  const workloads = new WorkloadService({ store: i.store, workspaces: i.workspaces, agent, target, stats });
  const exitWatch = new WorkloadExitWatch({
    agent, target, log: i.log,
    current: (id) => i.store.getWorkspace(id),
    act: async (id, action, exitCode) => {
      if (action === 'exit') await i.exits.workloadExit(id, exitCode);
      else await i.workspaces.power(id, action, { by: 'policy' });
    },
  });
  const logs = new WorkspaceLogs(i.bootLog, agent, target, (id) => i.store.getWorkspace(id));
  return { workloads, logs, exitWatch };
}
