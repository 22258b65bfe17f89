/**
 * Flags and environment → WarrenConfig. Flags win over environment, environment
 * over defaults. Invalid values fail start-up with a readable message.
 */
import { loadRateLimits } from './limits.js';
import { loadSshConfig } from './ssh.js';
import { loadImageImportConfig } from './images.js';
import { loadQuotaFile } from './quota-file.js';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { WarrenConfig } from './config.js';
import { loadNetworkOptions } from './network.js';
import { parsePublicDomain } from './public-domain.js';
import { loadUsageConfig } from './usage.js';
import { parseSize, parseStorageRequest } from '../storage/pool.js';
import { checkNodeOptions, loadNodeOptions, type WarrenRole } from './node.js';

export const DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  dataDir: '/var/lib/warren',
  bridge: 'warren0',
  subnet: '10.213.0.0/16',
  driver: 'ns',
  logLevel: 'info',
} as const;

export type Flags = Record<string, string | boolean | undefined>;

/** Parses `--key value` and `--key=value` pairs; bare `--flag` is true. */
export function parseFlags(argv: string[]): { positional: string[]; flags: Flags } {
  const flags: Flags = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq !== -1) flags[a.slice(2, eq)] = a.slice(eq + 1);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags[a.slice(2)] = argv[++i];
    else flags[a.slice(2)] = true;
  }
  return { positional, flags };
}

function pick(flags: Flags, flag: string, env: string): string | undefined {
  const f = flags[flag];
  if (typeof f === 'string') return f;
  return process.env[env] || undefined;
}

/** A non-negative number from the environment, or `dflt`. */
function envNumber(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

/** WARREN_STATS_INTERVAL_MS: the stats samplers' tick; below 200 ms they would cost more than they tell. */
function statsInterval(): number {
  const ms = envNumber('WARREN_STATS_INTERVAL_MS', 1000);
  if (ms < 200) throw new Error(`WARREN_STATS_INTERVAL_MS must be at least 200, got ${ms}`);
  return ms;
}

function boundedInt(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer ${min}–${max}, got ${text}`);
  return n;
}

/** Kernel object names derive from this: stable for a data dir, distinct between data dirs. */
export function instanceIdFor(dataDir: string): string {
  return createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 4);
}

/** `role`: what the command runs (`serve` → all, `node`, `control`). */
export function loadConfig(flags: Flags, role: WarrenRole = 'all'): WarrenConfig {
  const portText = pick(flags, 'port', 'WARREN_PORT') ?? String(DEFAULTS.port);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0–65535, got ${portText}`);
  const dataDir = resolve(pick(flags, 'data-dir', 'WARREN_DATA_DIR') ?? DEFAULTS.dataDir);
  const host = pick(flags, 'host', 'WARREN_HOST') ?? DEFAULTS.host;
  const bridge = pick(flags, 'bridge', 'WARREN_BRIDGE') ?? DEFAULTS.bridge;
  if (!/^[a-zA-Z0-9_-]{1,15}$/.test(bridge)) throw new Error(`--bridge must be 1–15 characters of [a-zA-Z0-9_-]`);
  const poolSize = pick(flags, 'storage-pool-size', 'WARREN_STORAGE_POOL_SIZE');
  const node = loadNodeOptions(flags, pick, host);
  if (role === 'node') checkNodeOptions(node);
  return {
    role,
    node,
    port,
    host,
    dataDir,
    imagesDir: resolve(pick(flags, 'images-dir', 'WARREN_IMAGES_DIR') ?? `${dataDir}/images`),
    bridge,
    subnet: pick(flags, 'subnet', 'WARREN_SUBNET') ?? DEFAULTS.subnet,
    instanceId: instanceIdFor(dataDir),
    databaseUrl: pick(flags, 'database-url', 'WARREN_DATABASE_URL'),
    adminClientId: process.env.WARREN_ADMIN_CLIENT_ID || undefined,
    adminClientSecret: process.env.WARREN_ADMIN_CLIENT_SECRET || undefined,
    publicUrl: pick(flags, 'public-url', 'WARREN_PUBLIC_URL') ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    publicDomain: parsePublicDomain(pick(flags, 'public-domain', 'WARREN_PUBLIC_DOMAIN')),
    driver: pick(flags, 'driver', 'WARREN_DRIVER') ?? DEFAULTS.driver,
    storage: parseStorageRequest(pick(flags, 'storage', 'WARREN_STORAGE')),
    storagePoolBytes: poolSize === undefined ? undefined : parseSize(poolSize),
    logLevel: pick(flags, 'log-level', 'WARREN_LOG_LEVEL') ?? DEFAULTS.logLevel,
    net: loadNetworkOptions(flags, pick),
    lifecycle: {
      restartBackoffMs: envNumber('WARREN_RESTART_BACKOFF_MS', 500),
      restartBackoffMaxMs: envNumber('WARREN_RESTART_BACKOFF_MAX_MS', 60_000),
      idleMinSuspendS: envNumber('WARREN_IDLE_MIN_SECONDS', 120),
      idleMinStopS: envNumber('WARREN_IDLE_MIN_STOP_SECONDS', 3600),
    },
    usage: loadUsageConfig(dataDir),
    statsIntervalMs: statsInterval(),
    warmPool: {
      size: boundedInt('--warm-pool', pick(flags, 'warm-pool', 'WARREN_WARM_POOL') ?? '2', 0, 64),
      images: boundedInt('WARREN_WARM_POOL_IMAGES', process.env.WARREN_WARM_POOL_IMAGES || '2', 1, 16),
    },
    metricsToken: process.env.WARREN_METRICS_TOKEN || undefined,
    limits: loadRateLimits(),
    ssh: loadSshConfig(flags, pick, host, pick(flags, 'public-url', 'WARREN_PUBLIC_URL')),
    imageImport: loadImageImportConfig(),
    quota: loadQuotaFile(pick(flags, 'quota-file', 'WARREN_QUOTA_FILE')),
  };
}
