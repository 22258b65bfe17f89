/**
 * Start-up of the host networking around the workspaces (issue 5): the firewall
 * tables, the way off the bridge (policy routing + NAT through the upstream), and
 * Warren's resolver on the bridge address, whose answers open the addresses of
 * allowed egress host names before the workspace gets them. The policy itself is
 * kept in force by NetworkSync (src/network/sync.ts), created by the server
 * once the store exists.
 */
import { readFile } from 'node:fs/promises';
import type { WarrenConfig } from './config/config.js';
import { Firewall } from './network/firewall.js';
import { contains, parseAnyCidr } from './network/addresses.js';
import { PRIVATE_RANGES } from './network/conntrack.js';
import { DnsAllowances } from './network/dns-allowances.js';
import { DnsProxy, matchesEgressName } from './network/dns-proxy.js';
import { join } from 'node:path';
import { claimUpstreamForwarding, installUpstream, removeUpstream, resolveUpstream, type Upstream } from './network/upstream.js';
import type { NetworkSync } from './network/sync.js';

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface HostNetwork {
  firewall: Firewall;
  upstream: Upstream | null;
  allowances: DnsAllowances;
  /** Resolver address handed to workspaces (null: none runs). */
  dnsServer: string | null;
  /** Starts the resolver; needs the sync that answers learn through. */
  startResolver(sync: NetworkSync): Promise<void>;
  close(): Promise<void>;
}

const NON_PUBLIC = [...PRIVATE_RANGES, '0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/3'].map((b) => parseAnyCidr(b)!);

function isPublicAddress(ip: string): boolean {
  return !NON_PUBLIC.some((block) => contains(block, ip));
}

async function resolvConfNameserver(): Promise<string | null> {
  try {
    const text = await readFile('/etc/resolv.conf', 'utf8');
    return /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/m.exec(text)?.[1] ?? null;
  } catch {
    return null;
  }
}

async function dnsUpstreamOf(spec: string): Promise<{ host: string; port: number } | null> {
  if (spec === 'none') return null;
  if (spec === 'auto') {
    const host = await resolvConfNameserver();
    return host ? { host, port: 53 } : null;
  }
  const [host, port] = spec.split(':');
  return { host: host!, port: Number(port ?? 53) };
}

export async function startHostNetwork(cfg: WarrenConfig, gateway: string, log: Log): Promise<HostNetwork> {
  const upstream = await resolveUpstream(cfg.net.upstream);
  if (!upstream && cfg.net.upstream === 'auto') log('warn', 'no default route: workspaces get no internet access');
  const guardUpstream = upstream ? await claimUpstreamForwarding(upstream, join(cfg.dataDir, 'network-state.json')) : false;
  const firewall = new Firewall({
    instanceId: cfg.instanceId, bridge: cfg.bridge, subnet: cfg.subnet, upstream: upstream?.device ?? null, guardUpstream,
  });
  await firewall.ensure();
  if (upstream) await installUpstream(cfg.bridge, cfg.instanceId, upstream);
  else await removeUpstream(cfg.bridge, cfg.instanceId);
  const allowances = new DnsAllowances(cfg.net.dnsMinTtlS);
  const dnsUpstream = await dnsUpstreamOf(cfg.net.dnsUpstream);
  let proxy: DnsProxy | null = null;

  return {
    firewall, upstream, allowances,
    dnsServer: dnsUpstream ? gateway : null,
    async startResolver(sync: NetworkSync) {
      if (!dnsUpstream) return;
      proxy = new DnsProxy({
        listenHost: gateway,
        listenPort: 53,
        upstream: dnsUpstream,
        allowClient: (ip) => sync.rules?.dns_ok.has(ip) ?? false,
        onResolved: async (ip, name, addresses) => {
          const patterns = sync.egressNamesOf(ip).filter((p) => matchesEgressName(name, [p]));
          // A name never opens private, loopback, link-local (cloud metadata) or multicast
          // space: those are reachable only when named by address (DNS rebinding).
          const publicOnly = addresses.filter((a) => isPublicAddress(a.address));
          if (publicOnly.length === 0) return;
          const opened = patterns.map((p) => allowances.add(ip, p, publicOnly)).some(Boolean);
          if (opened) await sync.sync();
        },
        log,
      });
      try {
        await proxy.start();
        log('info', 'resolver for workspaces is listening', { address: `${gateway}:53`, upstream: dnsUpstream });
      } catch (err) {
        proxy = null;
        log('error', 'resolver for workspaces could not start: egress by host name will not work', { err: String(err) });
      }
    },
    async close() {
      await proxy?.close();
      firewall.close();
    },
  };
}
