/**
 * What the control-plane fuzzer aims at: two namespaces, workspaces in them (running and
 * stopped), and one credential of each kind of caller. The fuzzer reaches destructive routes
 * too, so `heal()` puts back whatever a successful request took away (a deleted, archived or
 * stopped workspace, a revoked token, a suspended namespace) and deletes workspaces the fuzzer
 * created, so the next requests aim at real things again.
 */
import { api, type TestServer } from '../support/warren.js';

export type CallerKind = 'none' | 'badToken' | 'badKey' | 'otherNsKey' | 'namespace' | 'workspace' | 'billing' | 'admin';
export const CALLER_KINDS: CallerKind[] = ['none', 'badToken', 'badKey', 'otherNsKey', 'namespace', 'workspace', 'billing', 'admin'];

interface WsFixture { key: 'wsA' | 'wsS' | 'wsB'; namespace: string; running: boolean }
const WORKSPACES: WsFixture[] = [
  { key: 'wsA', namespace: 'team-a', running: true },
  { key: 'wsS', namespace: 'team-a', running: false },
  { key: 'wsB', namespace: 'team-b', running: true },
];

export class Fixtures {
  /** Fixture values by key: wsA, wsS, wsB, tokenId, keyId, … */
  readonly ids: Record<string, string> = {};
  private readonly auth: Partial<Record<CallerKind, Record<string, string>>> = {};

  constructor(private readonly server: TestServer) {}

  async setup(): Promise<void> {
    for (const ns of ['team-a', 'team-b']) must(await api(this.server, 'POST', '/namespaces', { name: ns }), 'namespace');
    await this.heal();
  }

  headersOf(kind: CallerKind): Record<string, string> {
    switch (kind) {
      case 'none': return {};
      case 'badToken': return { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzY29wZSI6ImFkbWluIn0.AAAA' };
      case 'badKey': return { 'x-client-id': 'test-admin', 'x-client-secret': 'wrong-secret-0123456789' };
      case 'admin': return { 'x-client-id': 'test-admin', 'x-client-secret': 'test-secret-0123456789' };
      default: return this.auth[kind] ?? {};
    }
  }

  /** Puts every fixture back as `setup` made it; deletes workspaces the fuzzer made. */
  async heal(): Promise<void> {
    for (const ns of ['team-a', 'team-b']) {
      const got = await api(this.server, 'GET', `/namespaces/${ns}`);
      if (got.status === 404) must(await api(this.server, 'POST', '/namespaces', { name: ns }), 'namespace');
      else if (got.body?.data?.status === 'suspended' || got.body?.data?.suspended) await api(this.server, 'POST', `/namespaces/${ns}/activate`);
    }
    const listed = await api(this.server, 'GET', '/workspace');
    const all: any[] = listed.body?.workspaces ?? [];
    const wanted = new Set(WORKSPACES.map((f) => this.ids[f.key]).filter(Boolean));
    for (const w of all) if (!wanted.has(w.id)) await api(this.server, 'DELETE', `/workspace/${w.id}`);
    let newWsA = false;
    for (const f of WORKSPACES) {
      const rec = all.find((w) => w.id === this.ids[f.key]);
      if (!rec || rec.status === 'archived' || rec.status === 'failed') {
        if (rec) await api(this.server, 'DELETE', `/workspace/${rec.id}`);
        const made = must(await api(this.server, 'POST', '/workspace', { image: 'debian-12', memory_mb: 128, namespace: f.namespace }), `workspace ${f.key}`);
        this.ids[f.key] = made.id ?? made.workspace?.id;
        newWsA ||= f.key === 'wsA';
        if (!f.running) await api(this.server, 'POST', `/workspace/${this.ids[f.key]}/stop`);
      } else if (f.running && rec.status !== 'running') {
        await api(this.server, 'POST', `/workspace/${rec.id}/start`);
      } else if (!f.running && rec.status === 'running') {
        await api(this.server, 'POST', `/workspace/${rec.id}/stop`);
      }
    }
    await this.healCredentials(newWsA);
  }

  private async works(kind: CallerKind): Promise<boolean> {
    const h = this.auth[kind];
    if (!h) return false;
    const path = kind === 'billing' ? '/workspace/usage' : '/workspace';
    return (await api(this.server, 'GET', path, undefined, h)).status === 200;
  }

  private async healCredentials(newWsA: boolean): Promise<void> {
    if (!(await this.works('namespace'))) {
      const t = must(await api(this.server, 'POST', '/tokens', { scope: 'namespace', namespace: 'team-a' }), 'namespace token');
      this.auth.namespace = { authorization: `Bearer ${t.token}` };
      this.ids.tokenId = t.id;
    }
    if (newWsA || !(await this.works('workspace'))) {
      const t = must(await api(this.server, 'POST', '/tokens', { scope: 'workspace', workspaceId: this.ids.wsA, ttl: 3600 }), 'workspace token');
      this.auth.workspace = { authorization: `Bearer ${t.token}` };
    }
    if (!(await this.works('otherNsKey'))) {
      const k = must(await api(this.server, 'POST', '/api-keys', { scope: 'namespace', namespace: 'team-b', label: 'fuzz' }), 'team-b key');
      this.auth.otherNsKey = { 'x-client-id': k.client_id, 'x-client-secret': k.client_secret };
      this.ids.keyId = k.client_id;
    }
    if (!(await this.works('billing'))) {
      const k = must(await api(this.server, 'POST', '/api-keys', { scope: 'billing' }), 'billing key');
      this.auth.billing = { 'x-client-id': k.client_id, 'x-client-secret': k.client_secret };
    }
  }
}

function must(r: { status: number; body: any; text: string }, what: string): any {
  if (r.status >= 300 && !(what === 'namespace' && r.status === 409)) throw new Error(`fixture ${what}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.body;
}
