// The policy compiler and the flow judge are pure: element texts and verdicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collapse, compile, diff, egressNames, emptyCompiled, PolicyCompiler, type PolicySubject, type PolicyView } from './policy.js';
import { flowAllowed, parseConntrack } from './conntrack.js';
import { parseAnyCidr } from './addresses.js';

const base: PolicyView = {
  allow_internet: true, public_access: false, ingress: [], ingress_ports: [], egress: [], egress_ports: [], outbound_ip: null,
};
const subject = (ip: string, p: Partial<PolicyView> = {}, extra: Partial<PolicySubject> = {}): PolicySubject =>
  ({ id: ip, ip, policy: { ...base, ...p }, linkSources: [], resolved: [], ...extra });
const sorted = (s: Set<string>) => [...s].sort();

test('defaults: internet and the resolver, nothing inbound', () => {
  const c = compile({ subjects: [subject('10.0.0.2')], exposures: [], outbound: true });
  assert.deepEqual(sorted(c.internet_ok), ['10.0.0.2']);
  assert.deepEqual(sorted(c.dns_ok), ['10.0.0.2']);
  for (const set of ['ingress_any', 'ingress_allow', 'egress_any', 'host_any', 'host_allow'] as const) assert.equal(c[set].size, 0, set);
});

test('egress lists × ports, names through resolved addresses, nested blocks collapsed', () => {
  const c = compile({
    subjects: [subject('10.0.0.2', { egress: ['1.2.3.0/24', '1.2.3.4', 'api.example.com'], egress_ports: [443, 80] },
      { resolved: ['5.6.7.8', '1.2.3.9'] })],
    exposures: [], outbound: true,
  });
  assert.equal(c.internet_ok.size, 0);
  assert.deepEqual(sorted(c.egress_allow), [
    '10.0.0.2 . 1.2.3.0/24 . 443', '10.0.0.2 . 1.2.3.0/24 . 80', '10.0.0.2 . 5.6.7.8 . 443', '10.0.0.2 . 5.6.7.8 . 80',
  ]);
  assert.deepEqual(egressNames(['1.2.3.4', 'API.example.com.', '*.x.org']), ['api.example.com', '*.x.org']);
  assert.deepEqual(collapse(['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '10.0.0.0/8'].map((x) => parseAnyCidr(x)!)), ['10.0.0.0/8']);
});

test('links: the target admits the caller (× its ingress ports), the caller may send; never the reverse', () => {
  const c = compile({
    subjects: [subject('10.0.0.2'), subject('10.0.0.3', { ingress_ports: [9990] }, { linkSources: ['10.0.0.2'] })],
    exposures: [], outbound: false,
  });
  assert.deepEqual(sorted(c.ingress_allow), ['10.0.0.2 . 10.0.0.3 . 9990']);
  assert.deepEqual(sorted(c.link_egress), ['10.0.0.2 . 10.0.0.3']);
  assert.equal(c.egress_any.size, 0);
  const ctx = { sandboxes: new Set(['10.0.0.2', '10.0.0.3']), gateway: '10.0.0.1', agentPort: 9990, dnsPort: 53 };
  assert.equal(flowAllowed(c, ctx, { proto: 'tcp', src: '10.0.0.2', dst: '10.0.0.3', dport: 9990 }), true);
  assert.equal(flowAllowed(c, ctx, { proto: 'tcp', src: '10.0.0.2', dst: '10.0.0.3', dport: 22 }), false);
  assert.equal(flowAllowed(c, ctx, { proto: 'tcp', src: '10.0.0.3', dst: '10.0.0.2', dport: 9990 }), false);
  assert.equal(flowAllowed(c, ctx, { proto: 'tcp', src: '10.0.0.1', dst: '10.0.0.2', dport: 9990 }), true, 'host → agent');
  assert.equal(flowAllowed(c, ctx, { proto: 'tcp', src: '10.0.0.1', dst: '10.0.0.2', dport: 22 }), true, 'host (jump host) → sshd');
  assert.equal(flowAllowed(c, ctx, { proto: 'tcp', src: '10.0.0.1', dst: '10.0.0.2', dport: 80 }), false);
  assert.equal(flowAllowed(c, ctx, { proto: 'udp', src: '10.0.0.2', dst: '10.0.0.1', dport: 53 }), true, 'resolver');
  assert.equal(flowAllowed(c, ctx, { proto: 'tcp', src: '10.0.0.2', dst: '8.8.8.8', dport: 443 }), true, 'internet');
  assert.equal(flowAllowed(c, ctx, { proto: 'tcp', src: '10.0.0.2', dst: '192.168.1.1', dport: 443 }), false, 'private');
});

test('a link into a block the caller already lists lands in its own set (no interval overlap)', () => {
  const c = compile({
    subjects: [subject('10.0.0.2', { egress: ['10.0.0.0/24'] }), subject('10.0.0.3', {}, { linkSources: ['10.0.0.2'] })],
    exposures: [], outbound: false,
  });
  assert.deepEqual(sorted(c.egress_any), ['10.0.0.2 . 10.0.0.0/24']);
  assert.deepEqual(sorted(c.link_egress), ['10.0.0.2 . 10.0.0.3']);
});

test('PolicyCompiler gives what compile gives, recompiling only changed workspaces', () => {
  const compiler = new PolicyCompiler();
  const subjects = Array.from({ length: 50 }, (_, i) => subject(`10.0.1.${i + 2}`, { egress: [`1.2.${i}.0/24`], egress_ports: [443] },
    { linkSources: i > 0 ? ['10.0.1.2'] : [] }));
  const input = { subjects, exposures: [{ ip: '10.0.1.2', port: 80 }], outbound: false };
  assert.deepEqual(compiler.compile(input), compile(input));
  subjects[7] = subject('10.0.1.9', { allow_internet: false });
  const changed = { ...input, subjects };
  assert.deepEqual(compiler.compile(changed), compile(changed));
  assert.deepEqual(compiler.compile({ ...changed, subjects: subjects.slice(0, 3) }), compile({ ...changed, subjects: subjects.slice(0, 3) }));
});

test('collapse keeps blocks and the hosts no block covers', () => {
  const blocks = ['10.0.0.0/8', '10.1.0.0/16', '192.168.1.5', '192.168.1.5', '10.9.9.9', '172.16.0.0/12'].map((x) => parseAnyCidr(x)!);
  assert.deepEqual(collapse(blocks).sort(), ['10.0.0.0/8', '172.16.0.0/12', '192.168.1.5']);
});

test('host access, exposures and outbound IPs', () => {
  const c = compile({
    subjects: [subject('10.0.0.2', { public_access: true }), subject('10.0.0.3', { public_access: true, ingress_ports: [3000], outbound_ip: '9.9.9.9' })],
    exposures: [{ ip: '10.0.0.2', port: 8080 }], outbound: true,
  });
  assert.deepEqual(sorted(c.host_any), ['10.0.0.2']);
  assert.deepEqual(sorted(c.host_allow), ['10.0.0.2 . 8080', '10.0.0.3 . 3000']);
  assert.deepEqual(sorted(c.outbound), ['10.0.0.3 : 9.9.9.9']);
  assert.equal(compile({ subjects: [subject('10.0.0.3', { outbound_ip: '9.9.9.9' })], exposures: [], outbound: false }).outbound.size, 0);
});

test('diff lists what to add and remove per set', () => {
  const from = emptyCompiled();
  from.internet_ok.add('10.0.0.2');
  const to = emptyCompiled();
  to.egress_any.add('10.0.0.2 . 1.1.1.1');
  const d = diff(from, to);
  assert.deepEqual(d, { add: { egress_any: ['10.0.0.2 . 1.1.1.1'] }, remove: { internet_ok: ['10.0.0.2'] }, size: 2 });
  assert.equal(diff(to, to).size, 0);
});

test('parseConntrack reads original tuples', () => {
  const flows = parseConntrack([
    'tcp      6 431999 ESTABLISHED src=10.0.0.2 dst=10.0.0.3 sport=40000 dport=9990 src=10.0.0.3 dst=10.0.0.2 sport=9990 dport=40000 [ASSURED] mark=0 use=1',
    'icmp     1 29 src=10.0.0.2 dst=1.2.3.4 type=8 code=0 id=5 src=1.2.3.4 dst=10.0.0.2 type=0 code=0 id=5 mark=0 use=1',
    'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.',
  ].join('\n'));
  assert.deepEqual(flows, [
    { proto: 'tcp', src: '10.0.0.2', dst: '10.0.0.3', sport: 40000, dport: 9990 },
    { proto: 'icmp', src: '10.0.0.2', dst: '1.2.3.4' },
  ]);
});
