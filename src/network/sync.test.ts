import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultNetworkPolicy } from '../contract/workspace.js';
import type { Store } from '../store/store.js';
import { DnsAllowances } from './dns-allowances.js';
import type { Compiled } from './policy.js';
import { NetworkSync } from './sync.js';

/** Every address any compiled set or map names. */
function addressesIn(rules: Compiled): Set<string> {
  const out = new Set<string>();
  for (const set of Object.values(rules)) for (const el of set) for (const m of el.match(/\d+\.\d+\.\d+\.\d+/g) ?? []) out.add(m);
  return out;
}

function syncWith(scope?: () => Promise<ReadonlySet<string>>): NetworkSync {
  const linked = { ...defaultNetworkPolicy(), private_link_ids: ['ws_b'] };
  const store = {
    allNetworkPolicies: async () => [
      { id: 'ws_a', ip: '10.214.0.2', network: linked },
      { id: 'ws_b', ip: '10.215.0.2', network: defaultNetworkPolicy() },
    ],
  } as unknown as Store;
  return new NetworkSync({
    store, allowances: new DnsAllowances(30), outbound: false, log: () => {},
    firewall: { applyRules: async () => ({ added: 0, removed: 0 }) },
    exposures: async () => [{ workspaceId: 'ws_a', port: 3000 }, { workspaceId: 'ws_b', port: 4000 }],
    ...(scope ? { scope } : {}),
  });
}

test('a single host enforces every stored workspace', async () => {
  const sync = syncWith();
  await sync.sync();
  const seen = addressesIn(sync.rules!);
  assert.ok(seen.has('10.214.0.2') && seen.has('10.215.0.2'));
});

test('a node enforces only its own workspaces and exposures; a peer on another node is still a link source', async () => {
  const sync = syncWith(async () => new Set(['ws_a']));
  await sync.sync();
  const rules = sync.rules!;
  assert.ok([...rules.internet_ok].some((e) => e.includes('10.214.0.2')), 'its own workspace has its rules');
  assert.ok([...rules.host_allow].some((e) => e.includes('3000')), 'its own exposure');
  assert.ok(![...rules.host_allow].some((e) => e.includes('4000')), 'not the other node\'s exposure');
  assert.ok(![...rules.internet_ok].some((e) => e.includes('10.215.0.2')), 'not the other node\'s workspace');
  // ws_a admits its linked peer as a source (the address resolves though the peer's rules are elsewhere).
  assert.deepEqual([...rules.link_egress], ['10.215.0.2 . 10.214.0.2']);
  assert.ok(![...rules.dns_ok].includes('10.215.0.2'));
});
