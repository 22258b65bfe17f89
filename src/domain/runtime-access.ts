/**
 * Runtime-API access (control-plane.md §16, seed 001): enabling the in-workspace
 * server, the three token kinds, and the gateway's token → workspace resolution.
 *
 * - Raw token: hex, stored on the record and in the agent's control file; valid
 *   until rotated. The agent accepts only the current one.
 * - Gateway JWT (1 h) and workspace token (30 days): HS256, signed with the
 *   server's key, carrying the record's `generation`. Rotate and disable bump the
 *   generation and replace the raw token, so every older token fails with 401.
 * - `enable` on an enabled workspace returns a fresh JWT and invalidates nothing.
 * - A raw token is resolved through the store on every request (one indexed query on
 *   `token_hash`, store/token-hash.ts), never through a per-process map: every replica on
 *   one database agrees at once on which raw token is current (issue 16).
 */
import { AppError } from '../contract/errors.js';
import type { Store, WorkspaceRecord } from '../store/store.js';
import type { RuntimeRoute } from './ports.js';
import { newRawToken, signGatewayToken, verifyGatewayToken, safeEqual } from './tokens.js';
import type { WorkspaceService } from './workspaces.js';
import type { WorkspaceBackend } from './backend.js';
import { AGENT_PORT } from './ports.js';
import { runtimeTokenHash } from '../store/token-hash.js';

export const GATEWAY_TOKEN_TTL_S = 3600;
export const WORKSPACE_TOKEN_TTL_S = 30 * 24 * 3600;

export class RuntimeAccess {
  constructor(
    private readonly store: Store,
    private readonly workspaces: WorkspaceService,
    private readonly orchestrator: WorkspaceBackend,
    private readonly signingKey: Buffer,
    /** Called when tokens of a workspace were revoked (rotate, disable): cut live connections. */
    private readonly onRevoked: (workspaceId: string) => void = () => {},
    /** Called after a change of the stored network policy; resolves once it is enforced. */
    private readonly onNetworkChanged: () => Promise<void> = async () => {},
    /** Wakes a workspace the idle policy put to sleep; resolves with it running (src/domain/idle.ts). */
    private readonly wake?: (id: string) => Promise<WorkspaceRecord>,
  ) {}

  status(rec: WorkspaceRecord) {
    return { enabled: rec.apiAccess.enabled, running: rec.state === 'running' && rec.apiAccess.enabled, port: AGENT_PORT };
  }

  private sign(rec: WorkspaceRecord, kind: 'gateway' | 'workspace'): { token: string; expires_at: string } {
    const ttl = kind === 'gateway' ? GATEWAY_TOKEN_TTL_S : WORKSPACE_TOKEN_TTL_S;
    const token = signGatewayToken(
      this.signingKey,
      { workspaceId: rec.id, ip: rec.ip, port: AGENT_PORT, generation: rec.apiAccess.generation, kind },
      ttl,
    );
    return { token, expires_at: new Date(Date.now() + ttl * 1000).toISOString() };
  }

  /** Applies `change` to the access state under the workspace lock and syncs the agent. */
  private async mutate(idOrSlug: string, change: (rec: WorkspaceRecord) => WorkspaceRecord | null) {
    const { id } = await this.workspaces.get(idOrSlug);
    return this.workspaces.withLock(id, async () => {
      const rec = await this.workspaces.get(id);
      const next = change(rec);
      if (!next) return rec;
      const saved = await this.store.updateWorkspace(next, rec.version);
      await this.orchestrator.syncAgentToken(saved);
      return saved;
    });
  }

  async enable(idOrSlug: string) {
    const rec = await this.mutate(idOrSlug, (r) => {
      const ports = r.network.ingress_ports.includes(AGENT_PORT)
        ? r.network.ingress_ports
        : [...r.network.ingress_ports, AGENT_PORT];
      if (r.apiAccess.enabled && ports === r.network.ingress_ports) return null;
      const rawToken = r.apiAccess.rawToken || newRawToken();
      return { ...r, apiAccess: { ...r.apiAccess, enabled: true, rawToken }, network: { ...r.network, ingress_ports: ports } };
    });
    await this.onNetworkChanged();
    return { enabled: true, ...this.sign(rec, 'gateway') };
  }

  async disable(idOrSlug: string) {
    const { id } = await this.workspaces.get(idOrSlug);
    await this.mutate(idOrSlug, (r) => ({
      ...r,
      apiAccess: { enabled: false, rawToken: newRawToken(), generation: r.apiAccess.generation + 1 },
    }));
    this.onRevoked(id);
    return { enabled: false };
  }

  async rotate(idOrSlug: string) {
    const rec = await this.mutate(idOrSlug, (r) => {
      this.requireEnabled(r);
      return { ...r, apiAccess: { enabled: true, rawToken: newRawToken(), generation: r.apiAccess.generation + 1 } };
    });
    this.onRevoked(rec.id);
    return { enabled: true, ...this.sign(rec, 'gateway') };
  }

  private requireEnabled(rec: WorkspaceRecord): void {
    if (!rec.apiAccess.enabled) {
      throw new AppError('runtime_api_disabled', 'The runtime API of this workspace is disabled; enable it first', {
        field: 'enabled',
      });
    }
  }

  async gatewayToken(idOrSlug: string) {
    const rec = await this.workspaces.get(idOrSlug);
    this.requireEnabled(rec);
    return { enabled: true, ...this.sign(rec, 'gateway') };
  }

  async workspaceToken(idOrSlug: string) {
    const rec = await this.workspaces.get(idOrSlug);
    this.requireEnabled(rec);
    return { enabled: true, ...this.sign(rec, 'workspace') };
  }

  async rawToken(idOrSlug: string) {
    const rec = await this.workspaces.get(idOrSlug);
    this.requireEnabled(rec);
    return { token: rec.apiAccess.rawToken, ip: rec.ip, port: AGENT_PORT };
  }

  /** Workspace id a control-plane Bearer token is scoped to (30-day token), or null. */
  scopeOfBearer(token: string): { workspaceId: string; generation: number } | null {
    const claims = verifyGatewayToken(this.signingKey, token);
    if (!claims || claims.kind !== 'workspace') return null;
    return { workspaceId: claims.sub, generation: claims.gen };
  }

  /** The gateway's routing decision for a token (spec README §2.2). */
  async resolve(token: string): Promise<RuntimeRoute> {
    let rec = await this.recordForToken(token);
    if (!rec || !rec.apiAccess.enabled) throw new AppError('unauthorized', 'Invalid or expired runtime token');
    if (!rec.network.public_access) {
      throw new AppError('public_access_required',
        'Gateway access needs public_access: true on the workspace network (PATCH /workspace/:id/network)',
        { field: 'public_access', workspace_id: rec.id });
    }
    if (rec.state !== 'running' && rec.lifecycle.asleep && this.wake) rec = await this.wake(rec.id);
    if (rec.state !== 'running') {
      throw new AppError('workspace_not_running', `Workspace is ${rec.state}; start or resume it first`, {
        field: 'status', current_state: rec.state, workspace_id: rec.id,
      });
    }
    // A workspace on another node: 503 node_lost while that node is gone, else through its relay.
    await this.orchestrator.assertReachable(rec);
    const via = await this.orchestrator.via(rec);
    return { workspaceId: rec.id, host: rec.ip, port: AGENT_PORT, agentToken: rec.apiAccess.rawToken, ...(via ? { via } : {}) };
  }

  private async recordForToken(token: string): Promise<WorkspaceRecord | null> {
    if (token.split('.').length === 3) {
      const claims = verifyGatewayToken(this.signingKey, token);
      if (!claims) return null;
      const rec = await this.store.getWorkspace(claims.sub);
      return rec && rec.apiAccess.generation === claims.gen ? rec : null;
    }
    // Found by hash; the raw token is still compared in constant time before it is trusted.
    const rec = await this.store.findWorkspaceByTokenHash(runtimeTokenHash(token));
    return rec && safeEqual(rec.apiAccess.rawToken, token) ? rec : null;
  }
}
