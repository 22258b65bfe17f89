// Pure parts of the firewall: table naming, the rendered ruleset and input validation.
// The kernel behaviour (real TCP through the rules) is in test/network/firewall.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../contract/errors.js';
import { Firewall, physicalSet, renderElements, renderPolicyDiff, renderRuleset, tableNames } from './firewall.js';

const OPTS = { instanceId: '0a1b', bridge: 'wbr0', subnet: '10.213.0.0/16' };

test('tableNames derives both tables from a 4-hex instance id', () => {
  assert.deepEqual(tableNames('0a1b'), { inet: 'warren_0a1b', bridge: 'warren_l2_0a1b' });
  for (const bad of ['0A1B', 'abc', 'abcde', 'zzzz', '0a1b; flush ruleset']) {
    assert.throws(() => tableNames(bad), (e: unknown) => e instanceof AppError && e.details?.field === 'instanceId');
  }
});

test('renderRuleset replaces only its own two tables, atomically', () => {
  const text = renderRuleset(OPTS, []);
  const tableLines = text.split('\n').filter((l) => /^(table|delete table)/.test(l));
  assert.deepEqual(tableLines, [
    'table inet warren_0a1b', 'delete table inet warren_0a1b', 'table inet warren_0a1b {',
    'table bridge warren_l2_0a1b', 'delete table bridge warren_l2_0a1b', 'table bridge warren_l2_0a1b {',
  ]);
  assert.doesNotMatch(text, /flush ruleset/);
  assert.doesNotMatch(text, /elements = \{ \}/, 'empty sets must not carry an empty element list');
});

test('renderRuleset encodes the baseline policy', () => {
  const text = renderRuleset(OPTS, []);
  for (const set of ['sandboxes', 'internet_ok', 'private', 'egress_allow_00', 'egress_any_31', 'ingress_allow_07', 'ingress_any_00',
    'link_egress', 'host_allow', 'host_any', 'dns_ok', 'sb_ports', 'port_ip']) {
    assert.match(text, new RegExp(`set ${set} \\{`), set);
  }
  assert.match(text, /iifname != "wbr0" oifname != "wbr0" accept\n\s+ct state established,related accept\n\s+ip saddr @sandboxes jump c_egress\n\s+ip daddr @sandboxes jump c_ingress\n\s+ip saddr @sandboxes accept\n\s+counter name "blocked_forward" drop/);
  assert.match(text, /hook input[^\n]*\n\s+iifname != "wbr0" accept\n\s+ct state established,related accept\n\s+ip saddr @dns_ok ip daddr 10\.213\.0\.1 meta l4proto \{ tcp, udp \} th dport 53 accept\n\s+counter name "blocked_input" drop/);
  assert.match(text, /hook output[^\n]*\n\s+oifname != "wbr0" accept\n\s+ct state established,related accept\n\s+ip daddr @sandboxes jump c_host/);
  assert.match(text, /chain c_host \{\n\s+tcp dport 9990 accept\n\s+tcp dport 22 accept\n/, 'the host always reaches the agent and sshd');
  assert.doesNotMatch(text, /hook postrouting/, 'no NAT without an upstream');
  assert.match(renderRuleset({ ...OPTS, upstream: 'eth9' }, []),
    /oifname "eth9" ip saddr @sandboxes snat ip to ip saddr map @outbound\n\s+oifname "eth9" ip saddr @sandboxes masquerade/);
  assert.doesNotMatch(renderRuleset({ ...OPTS, upstream: 'eth9' }, []), /iifname "eth9" oifname/);
  assert.match(renderRuleset({ ...OPTS, upstream: 'eth9', guardUpstream: true }, []),
    /iifname "eth9" oifname != "wbr0" counter name "blocked_forward" drop\n\s+iifname != "wbr0" oifname != "wbr0" accept/,
    'the guard comes before the pass-through of non-bridge traffic');
  assert.match(text, /iifname @sb_ports jump sandbox_port/);
  assert.match(text, /arp saddr ip 10\.213\.0\.0\/16 counter name "spoofed" drop/);
  assert.match(text, /ip saddr 10\.213\.0\.0\/16 counter name "spoofed" drop/);
});

test('renderRuleset pre-loads registrations into all three sets', () => {
  const text = renderRuleset(OPTS, [{ ip: '10.213.0.2', hostIf: 'wv1' }, { ip: '10.213.0.3', hostIf: 'wv2' }]);
  assert.match(text, /set sandboxes \{ type ipv4_addr; elements = \{ 10\.213\.0\.2, 10\.213\.0\.3 \}; \}/);
  assert.match(text, /set sb_ports \{ type ifname; elements = \{ "wv1", "wv2" \}; \}/);
  assert.match(text, /elements = \{ "wv1" \. 10\.213\.0\.2, "wv2" \. 10\.213\.0\.3 \}/);
});

test('renderElements touches the three registration sets', () => {
  assert.equal(renderElements('add', tableNames('0a1b'), { ip: '10.213.0.9', hostIf: 'wv9' }),
    'add element inet warren_0a1b sandboxes { 10.213.0.9 }\n' +
    'add element bridge warren_l2_0a1b sb_ports { "wv9" }\n' +
    'add element bridge warren_l2_0a1b port_ip { "wv9" . 10.213.0.9 }\n');
});

test('Firewall validates options and registrations before running nft', async () => {
  assert.throws(() => new Firewall({ ...OPTS, bridge: 'br"0' }), AppError);
  assert.throws(() => new Firewall({ ...OPTS, subnet: '10.213.0.0/30' }), AppError);
  const fw = new Firewall(OPTS);
  const isIpError = (e: unknown) => e instanceof AppError && e.details?.field === 'ip';
  await assert.rejects(fw.register({ ip: '10.213.0.1', hostIf: 'wv1' }), isIpError);
  await assert.rejects(fw.register({ ip: '10.214.0.5', hostIf: 'wv1' }), isIpError);
  await assert.rejects(fw.register({ ip: '10.213.0.5', hostIf: 'wv1 }' }), (e: unknown) =>
    e instanceof AppError && e.details?.field === 'hostIf');
  await assert.rejects(fw.unregister({ ip: '10.213.255.255', hostIf: 'wv1' }), isIpError);
});

test('interval elements land in the shard of their workspace address', () => {
  assert.equal(physicalSet('egress_any', '10.213.0.37 . 1.2.3.0/24'), 'egress_any_05');
  assert.equal(physicalSet('ingress_allow', '1.2.3.0/24 . 10.213.0.64 . 443'), 'ingress_allow_00');
  assert.equal(physicalSet('internet_ok', '10.213.0.37'), 'internet_ok');
  const t = tableNames('0a1b');
  assert.equal(renderPolicyDiff(t, { egress_any: ['10.213.0.37 . 1.2.3.0/24'] }, { egress_any: ['10.213.0.38 . 1.2.3.0/24', '10.213.0.70 . 5.0.0.0/8'] }),
    'delete element inet warren_0a1b egress_any_05 { 10.213.0.37 . 1.2.3.0/24 }\n' +
    'add element inet warren_0a1b egress_any_06 { 10.213.0.38 . 1.2.3.0/24, 10.213.0.70 . 5.0.0.0/8 }\n');
  assert.match(renderRuleset(OPTS, []), /ip saddr & 0\.0\.0\.31 vmap \{ 0\.0\.0\.0 : goto eg_00, .*0\.0\.0\.31 : goto eg_31 \}/);
});
