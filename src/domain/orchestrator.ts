/**
 * Side effects of the lifecycle: turns a workspace record into a running sandbox
 * and back, through the driver, firewall and image store. It holds no state of its
 * own; callers (WorkspaceService, Reconciler) record intent in the store before
 * calling it and the outcome after. Every method is idempotent so a crash at any
 * point can be finished by calling it again.
 */
import { rm } from 'node:fs/promises';
import { canPause, type SandboxSpec } from '../drivers/driver.js';
import { AppError } from '../contract/errors.js';
import type { WorkspaceRecord } from '../store/store.js';
import type { DomainDeps } from './ports.js';
import { AGENT_PORT } from './ports.js';
import { specFor, workspaceDir, writeControlFiles, writeAgentToken } from './sandbox-spec.js';

/** How long a freshly started agent may take to answer /health. */
const AGENT_READY_TIMEOUT_MS = 30_000;

export class Orchestrator {
  constructor(private readonly deps: DomainDeps) {}

  /** Spec for a record; `rootfs` is only known once the image is built. */
  private async spec(rec: WorkspaceRecord, buildImage: boolean): Promise<SandboxSpec> {
    const rootfs = buildImage ? await this.deps.images.ensure(rec.image) : '';
    return specFor(rec, rootfs, this.deps);
  }

  private sandboxRef(rec: WorkspaceRecord) {
    return { ip: rec.ip, hostIf: this.deps.hostIfName(rec.shortId) };
  }

  /** Creates (if needed) and boots the sandbox, then waits for its agent. */
  async bringUp(rec: WorkspaceRecord): Promise<void> {
    const spec = await this.spec(rec, true);
    await writeControlFiles(spec, rec);
    await this.deps.driver.create(spec);
    await this.deps.firewall.register(this.sandboxRef(rec));
    await this.deps.syncNetwork?.();
    const status = await this.deps.driver.inspect(spec);
    if (status.state === 'paused' && canPause(this.deps.driver)) await this.deps.driver.resume(spec);
    if (status.state !== 'running') await this.deps.driver.start(spec);
    await this.waitForAgent(rec);
  }

  private async waitForAgent(rec: WorkspaceRecord): Promise<void> {
    try {
      await this.deps.probe(rec.ip, AGENT_PORT, AGENT_READY_TIMEOUT_MS);
    } catch {
      throw new AppError('VM_UNAVAILABLE', 'The workspace started but its runtime agent did not answer');
    }
  }

  /** Ends every process; the writable layer stays. */
  async bringDown(rec: WorkspaceRecord): Promise<void> {
    const spec = await this.spec(rec, false);
    await this.deps.driver.stop(spec);
    await this.deps.firewall.unregister(this.sandboxRef(rec));
  }

  async pause(rec: WorkspaceRecord): Promise<void> {
    const driver = this.deps.driver;
    if (!canPause(driver)) throw new AppError('not_implemented', `Driver ${driver.name} cannot pause`);
    await driver.pause(await this.spec(rec, false));
  }

  async resume(rec: WorkspaceRecord): Promise<void> {
    const driver = this.deps.driver;
    if (!canPause(driver)) throw new AppError('not_implemented', `Driver ${driver.name} cannot resume`);
    await driver.resume(await this.spec(rec, false));
  }

  /** Removes the sandbox and every file of the workspace. */
  async destroy(rec: WorkspaceRecord): Promise<void> {
    const spec = await this.spec(rec, false);
    await this.deps.driver.destroy(spec);
    await this.deps.firewall.unregister(this.sandboxRef(rec));
    await rm(workspaceDir(this.deps.paths.workspacesDir, rec.id), { recursive: true, force: true });
  }

  async inspect(rec: WorkspaceRecord) {
    return this.deps.driver.inspect(await this.spec(rec, false));
  }

  async stats(rec: WorkspaceRecord) {
    return this.deps.driver.stats(await this.spec(rec, false));
  }

  async updateResources(rec: WorkspaceRecord): Promise<void> {
    await this.deps.driver.updateResources(await this.spec(rec, false));
  }

  /** Pushes the current raw token (or none when disabled) to the agent. */
  async syncAgentToken(rec: WorkspaceRecord): Promise<void> {
    await writeAgentToken(await this.spec(rec, false), rec);
  }

  async residue(): Promise<string[]> {
    return this.deps.driver.listResidue();
  }

  async destroyResidue(shortId: string): Promise<void> {
    await this.deps.driver.destroyResidue(shortId);
  }

  async reattach(rec: WorkspaceRecord): Promise<void> {
    await this.deps.firewall.register(this.sandboxRef(rec));
    await this.deps.syncNetwork?.();
  }
}
