/**
 * `vm_on_exit` (control-plane.md §11): when a workload ends for good (no restart left),
 * the workspace is paused, stopped or ends with it ("exit": as if its main process had,
 * restart policy included). The agent announces the end on its event stream; this keeps
 * one such stream open per running workspace that has a workload asking for it, fed by
 * the store observer, and reconnects with backoff. What to do is read from the stored
 * definition, never from the agent's words.
 */
import type { WorkspaceRecord } from '../store/store.js';
import type { AgentControlPort, AgentTarget } from './ports.js';

export interface WorkloadExitDeps {
  agent: AgentControlPort;
  target: (rec: WorkspaceRecord) => AgentTarget;
  current: (id: string) => Promise<WorkspaceRecord | null>;
  act: (id: string, action: 'pause' | 'stop' | 'exit', exitCode: number) => Promise<void>;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

function wants(rec: WorkspaceRecord | null): rec is WorkspaceRecord {
  return !!rec && rec.state === 'running' && !rec.pending && rec.config.workloads.some((w) => w.vm_on_exit !== '');
}

export class WorkloadExitWatch {
  private readonly watches = new Map<string, { key: string; abort: AbortController }>();

  constructor(private readonly d: WorkloadExitDeps) {}

  /** Called with every stored record (and null after a delete). */
  sync(rec: WorkspaceRecord | null, id: string): void {
    const key = wants(rec) ? String(rec.startedAt) : null;
    const cur = this.watches.get(id);
    if (cur && cur.key === key) return;
    if (cur) {
      cur.abort.abort();
      this.watches.delete(id);
    }
    if (key && rec) this.start(rec, key);
  }

  close(): void {
    for (const w of this.watches.values()) w.abort.abort();
    this.watches.clear();
  }

  private start(rec: WorkspaceRecord, key: string): void {
    const abort = new AbortController();
    this.watches.set(rec.id, { key, abort });
    void this.follow(rec, abort.signal);
  }

  private async follow(rec: WorkspaceRecord, signal: AbortSignal): Promise<void> {
    let wait = RETRY_MIN_MS;
    // After a reconnect, events since the last one seen are replayed, so an exit is not
    // missed; the first connection replays nothing (an old exit may have been acted on).
    let seq: number | null = null;
    while (!signal.aborted) {
      try {
        const since: string = seq === null ? '' : `?since=${seq}`;
        const events: AsyncIterable<Record<string, unknown>> = this.d.agent.stream(this.d.target(rec), `/_warren/events${since}`, signal);
        for await (const e of events) {
          wait = RETRY_MIN_MS;
          if (typeof e.seq === 'number') seq = e.seq;
          if (e.type === 'workload_exit' && e.final === true && typeof e.workload_id === 'string') {
            await this.onFinalExit(rec.id, e.workload_id, typeof e.exit_code === 'number' ? e.exit_code : 1);
          }
        }
      } catch {
        /* agent restarting or gone: retried below while the workspace still runs */
      }
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, wait).unref());
      wait = Math.min(RETRY_MAX_MS, wait * 2);
    }
  }

  private async onFinalExit(id: string, wid: string, exitCode: number): Promise<void> {
    const rec = await this.d.current(id);
    const action = rec?.config.workloads.find((w) => w.id === wid)?.vm_on_exit;
    if (!rec || !action) return;
    this.d.log('info', 'workload ended; vm_on_exit applies', { id, workload_id: wid, action, exitCode });
    await this.d.act(id, action, exitCode).catch((err: unknown) =>
      this.d.log('error', 'vm_on_exit action failed', { id, workload_id: wid, action, err: String(err) }));
  }
}
