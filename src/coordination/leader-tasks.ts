/**
 * The cluster-wide schedulers run on the leader only (issue 16): `begin()` starts them at once
 * when this instance leads (awaited, so a single host has them running before its port opens,
 * exactly as before) and stops them when it does not; from then on they follow leadership
 * changes, started in order and stopped in reverse, one change at a time. Each start gets
 * the term's epoch, for the writes it fences (LeadershipPort.fenced).
 */
import type { LeadershipPort } from '../domain/ports.js';

export interface LeaderTask {
  name: string;
  start(epoch: number): Promise<void> | void;
  /** Idempotent: also called on an instance that never led. */
  stop(): Promise<void> | void;
}

type Log = (level: 'info' | 'error', msg: string, fields: Record<string, unknown>) => void;

export class LeaderTasks {
  private chain: Promise<void> = Promise.resolve();
  /** null until `begin`: the first decision both starts or stops. */
  private leading: boolean | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly leadership: LeadershipPort, private readonly tasks: LeaderTask[], private readonly log: Log) {}

  async begin(): Promise<void> {
    this.unsubscribe = this.leadership.onChange((leader, epoch) => void this.apply(leader, epoch));
    await this.apply(this.leadership.isLeader(), this.leadership.epoch());
  }

  /** Stops following and stops the tasks (shutdown). */
  async end(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.apply(false, null);
  }

  private apply(leader: boolean, epoch: number | null): Promise<void> {
    this.chain = this.chain.then(() => (leader && epoch !== null ? this.startAll(epoch) : this.stopAll()));
    return this.chain;
  }

  private async startAll(epoch: number): Promise<void> {
    if (this.leading === true) await this.stopAll(); // a new term: restart with its epoch
    this.leading = true;
    this.log('info', 'leader: starting the cluster-wide schedulers', { epoch });
    for (const t of this.tasks) {
      try {
        await t.start(epoch);
      } catch (err) {
        this.log('error', 'a leader task failed to start', { task: t.name, err: String(err) });
      }
    }
  }

  private async stopAll(): Promise<void> {
    if (this.leading === false) return;
    const wasLeading = this.leading === true;
    this.leading = false;
    if (wasLeading) this.log('info', 'no longer leader: stopping the cluster-wide schedulers', {});
    for (const t of [...this.tasks].reverse()) {
      try {
        await t.stop();
      } catch (err) {
        this.log('error', 'a leader task failed to stop', { task: t.name, err: String(err) });
      }
    }
  }
}
