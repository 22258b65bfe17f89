/**
 * Driver selection by name. `ns` (namespace sandbox) is the embedded default; a
 * micro-VM driver registers here when it lands. `memory` (src/drivers/memory/) isolates
 * nothing: it is offered only when the environment says this is a test
 * (WARREN_TEST_DRIVERS=1), so no server can give real workspaces to it.
 */
import { AppError } from '../contract/errors.js';
import type { Driver } from './driver.js';
import { MemoryDriver } from './memory/driver.js';
import { NsDriver, type NsStorageOptions } from './ns/driver.js';

export interface DriverOptions {
  instanceId: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Snapshot and scratch directories on the storage pool; absent: no snapshots (purge). */
  storage?: NsStorageOptions;
}

export const DRIVERS: Record<string, (o: DriverOptions) => Driver> = {
  ns: (o) => new NsDriver(o),
};

/** Drivers that isolate nothing, for in-process tests only. */
export const TEST_DRIVERS: Record<string, (o: DriverOptions) => Driver> = {
  memory: () => new MemoryDriver(),
};

/** Whether this process may use TEST_DRIVERS (set by test harnesses, never by an operator). */
export function testDriversAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.WARREN_TEST_DRIVERS === '1';
}

export function createDriver(name: string, opts: DriverOptions, env: NodeJS.ProcessEnv = process.env): Driver {
  const testing = testDriversAllowed(env);
  const make = DRIVERS[name] ?? (testing ? TEST_DRIVERS[name] : undefined);
  if (!make) {
    const why = TEST_DRIVERS[name] ? `The ${name} driver does not isolate workspaces and serves tests only` : `Unknown driver ${name}`;
    throw new AppError('validation_error', `${why}; available: ${Object.keys(DRIVERS).join(', ')}`, { field: 'driver' });
  }
  const driver = make(opts);
  // A driver that does not isolate never runs outside a test, whatever registered it.
  if (!driver.capabilities.isolation && !testing) {
    throw new AppError('validation_error', `The ${name} driver does not isolate workspaces and serves tests only`, { field: 'driver' });
  }
  return driver;
}
