/**
 * A node daemon's presence in the registry (issue 16): it registers at start and then
 * heartbeats every EXPECTED_HEARTBEAT_MS. A heartbeat the registry refuses because the node
 * was marked lost (503 `node_lost`) or is unknown (404 `node_not_found`, e.g. the row was
 * deleted) is answered by registering again: the registry makes the node `ready` again
 * with the same id, and its workspaces, whose records still name it, are re-adopted, never
 * recreated. Any other failure (the database unreachable) is logged and retried on the
 * next beat; the node keeps running its sandboxes meanwhile.
 */
import { isAppError } from './contract/errors.js';
import { EXPECTED_HEARTBEAT_MS, type NodeRegistry } from './domain/nodes.js';
import type { NodeRegistration } from './store/store.js';

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export class NodePresence {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;

  constructor(
    private readonly registry: NodeRegistry,
    private readonly registration: NodeRegistration,
    private readonly log: Log,
    private readonly periodMs = EXPECTED_HEARTBEAT_MS,
  ) {}

  /** Registers (a failure here fails the start) and starts heartbeating. */
  async start(): Promise<void> {
    await this.register();
    this.timer = setInterval(() => {
      this.beating ??= this.beat().finally(() => (this.beating = null));
    }, this.periodMs);
    this.timer.unref();
  }

  /** Stops heartbeating (the node is then lost after the registry's lost-after time). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
  }

  private async register(): Promise<void> {
    const { node, readopted } = await this.registry.register(this.registration);
    this.log('info', readopted ? 'node registered again; its workspaces are re-adopted' : 'node registered', {
      node: node.id, state: node.state, address: node.address, subnet: this.registration.subnet,
    });
  }

  private async beat(): Promise<void> {
    try {
      await this.registry.heartbeat(this.registration.id);
    } catch (err) {
      if (isAppError(err) && (err.code === 'node_lost' || err.code === 'node_not_found')) {
        this.log('warn', 'heartbeat refused; registering again', { node: this.registration.id, code: err.code });
        await this.register().catch((e: unknown) => this.log('error', 'registering again failed', { err: String(e) }));
        return;
      }
      this.log('error', 'heartbeat failed; retrying at the next beat', { node: this.registration.id, err: String(err) });
    }
  }
}
