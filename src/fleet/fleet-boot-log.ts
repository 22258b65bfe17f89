/**
 * BootLogPort on a control replica (issue 16): a workspace's boot log is written by the node
 * that boots it (src/storage/boot-log.ts, on the node's disk and, while a boot runs, in its
 * memory), so a replica reads it there (node API `boot-log` and `boot-log-follow`:
 * src/node/node-api-inside.ts). The port names workspaces by id; the record (its node) is
 * read from the store.
 *
 * - read / files / readFile / clear: one node API call each. A workspace with no node yet
 *   (placement not done) has no boot log: empty answers.
 * - follow: a stream from the node (replay, then new lines until the boot ends); `onEnd` once
 *   when it ends, fails or is stopped. Bounded: a boot writes at most 1000 lines and the
 *   node ends the stream with the boot.
 * - booting: the port's answer is synchronous and a replica boots nothing, so false; nothing
 *   on a replica asks (the node's own backend does, on the node).
 * - begin / step / end: a replica writes no boot log (the FleetBackend's bring-up runs on the
 *   node, which writes its own); begin refuses, step and end do nothing.
 */
import { AppError } from '../contract/errors.js';
import type { BootLogLine, BootLogPort } from '../domain/ports.js';
import type { Store, WorkspaceRecord } from '../store/store.js';
import type { NodeCaller } from './node-caller.js';

const BOOT_LOG_TIMEOUT_MS = 15_000;
const FOLLOW_OPEN_TIMEOUT_MS = 15_000;

export class FleetBootLog implements BootLogPort {
  constructor(
    private readonly nodes: NodeCaller,
    private readonly store: Pick<Store, 'getWorkspace'>,
    private readonly log?: (msg: string, fields?: Record<string, unknown>) => void,
  ) {}

  async begin(workspaceId: string): Promise<void> {
    throw new AppError('server_error', `A control replica does not boot workspaces (${workspaceId}); its node writes the boot log`);
  }

  step(): void {}
  end(): void {}

  booting(): boolean {
    return false;
  }

  async read(workspaceId: string, tail: number): Promise<BootLogLine[]> {
    const rec = await this.placed(workspaceId);
    return rec ? lines(await this.action(rec, { action: 'read', tail })) : [];
  }

  async files(workspaceId: string): Promise<Array<{ name: string; size: number; modified: string }>> {
    const rec = await this.placed(workspaceId);
    if (!rec) return [];
    const res = await this.action(rec, { action: 'files' });
    if (!Array.isArray(res)) throw malformed(workspaceId);
    return res.filter((f): f is { name: string; size: number; modified: string } =>
      !!f && typeof f.name === 'string' && typeof f.size === 'number' && typeof f.modified === 'string')
      .map((f) => ({ name: f.name, size: f.size, modified: f.modified }));
  }

  async readFile(workspaceId: string, name: string): Promise<BootLogLine[] | null> {
    const rec = await this.placed(workspaceId);
    if (!rec) return null;
    const res = await this.action(rec, { action: 'read-file', name });
    return res === null ? null : lines(res);
  }

  async clear(workspaceId: string): Promise<void> {
    const rec = await this.placed(workspaceId);
    if (rec) await this.action(rec, { action: 'clear' });
  }

  async follow(workspaceId: string, tail: number, onLine: (l: BootLogLine) => void, onEnd: () => void): Promise<() => void> {
    const rec = await this.placed(workspaceId);
    if (!rec) {
      onEnd();
      return () => undefined;
    }
    const ac = new AbortController();
    const events = await this.nodes.stream('boot-log-follow', rec, { log: { tail } }, ac.signal, FOLLOW_OPEN_TIMEOUT_MS);
    void (async () => {
      try {
        for await (const e of events) {
          const l = lineOf(e);
          if (l) onLine(l);
        }
      } catch (err) {
        this.log?.('fleet: following a boot log ended with an error', { workspace: workspaceId, err: String(err) });
      } finally {
        onEnd();
      }
    })();
    return () => ac.abort();
  }

  private async placed(id: string): Promise<WorkspaceRecord | null> {
    const rec = await this.store.getWorkspace(id);
    return rec && rec.nodeId !== null ? rec : null;
  }

  private action(rec: WorkspaceRecord, log: Record<string, unknown>): Promise<unknown> {
    return this.nodes.call('boot-log', rec, { log }, { timeoutMs: BOOT_LOG_TIMEOUT_MS });
  }
}

function lineOf(v: unknown): BootLogLine | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (typeof o.timestamp !== 'string' || typeof o.message !== 'string') return null;
  return { timestamp: o.timestamp, message: o.message, level: o.level === 'error' ? 'error' : 'info' };
}

function lines(v: unknown): BootLogLine[] {
  if (!Array.isArray(v)) throw new AppError('server_error', 'A node answered a boot log read with an unexpected shape');
  return v.map(lineOf).filter((l): l is BootLogLine => l !== null);
}

function malformed(id: string): AppError {
  return new AppError('server_error', `The node of workspace ${id} answered a boot log read with an unexpected shape`);
}
