/**
 * Driver selection by name. `ns` (namespace sandbox) is the embedded default; a
 * micro-VM driver registers here when it lands.
 */
import { AppError } from '../contract/errors.js';
import type { Driver } from './driver.js';
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

export function createDriver(name: string, opts: DriverOptions): Driver {
  const make = DRIVERS[name];
  if (!make) {
    throw new AppError('validation_error', `Unknown driver ${name}; available: ${Object.keys(DRIVERS).join(', ')}`, { field: 'driver' });
  }
  return make(opts);
}
