/**
 * Fault injection for crash tests, switched on by WARREN_TEST_* environment variables
 * and inert without them: each makes an operation provably in flight for as long as a
 * test needs to SIGKILL the server in its middle.
 */
import { PassThrough } from 'node:stream';
import type { Logger } from 'pino';
import { writeSync } from 'node:fs';
import { canSnapshot, type Driver } from './drivers/driver.js';
import { FAULT_POINTS, installFaultHook, type FaultPointName } from './util/fault-points.js';

/**
 * Fault injection for crash tests: WARREN_TEST_SLOW_START_MS delays every sandbox
 * start so a test can SIGKILL the server while a create is provably in flight.
 */
function slowStartForTests(driver: { start: (...a: never[]) => Promise<unknown> }): void {
  const ms = Number(process.env.WARREN_TEST_SLOW_START_MS ?? 0);
  if (!ms) return;
  const start = driver.start.bind(driver);
  driver.start = (async (...args: never[]) => {
    await new Promise((r) => setTimeout(r, ms));
    return start(...args);
  }) as typeof driver.start;
}

/**
 * Fault injection for crash tests: WARREN_TEST_SNAPSHOT_HOLD_MS holds every snapshot
 * after its copy (its row still `pending`), WARREN_TEST_EXPORT_HOLD_MS every archive
 * export after its first bytes (its file half written); both log "test hook: holding …"
 * so a test can SIGKILL the server while such an operation is provably in flight.
 */
function holdLayerOpsForTests(driver: Driver, log: Logger): void {
  const snapMs = Number(process.env.WARREN_TEST_SNAPSHOT_HOLD_MS ?? 0);
  const ms = Number(process.env.WARREN_TEST_EXPORT_HOLD_MS ?? 0);
  if (!canSnapshot(driver)) return;
  const snapshot = driver.snapshot.bind(driver);
  if (snapMs) driver.snapshot = async (...args) => {
    const r = await snapshot(...args);
    log.warn({ snapshot: args[1] }, 'test hook: holding a snapshot');
    await new Promise((res) => setTimeout(res, snapMs));
    return r;
  };
  if (!ms) return;
  const exportTar = driver.exportTar.bind(driver);
  driver.exportTar = async (...args) => {
    const exp = await exportTar(...args);
    const held = new PassThrough();
    let first = true;
    exp.stream.on('data', (chunk: Buffer) => {
      held.write(chunk);
      if (!first) return;
      first = false;
      exp.stream.pause();
      log.warn({}, 'test hook: holding an archive export');
      setTimeout(() => exp.stream.resume(), ms);
    });
    exp.stream.on('end', () => held.end());
    return { stream: held, done: exp.done };
  };
}

/**
 * WARREN_TEST_CRASH_AT=<point>[#<nth>] (a name of FAULT_POINTS, src/util/fault-points.ts):
 * the server SIGKILLs itself the nth time (default: the first) it reaches that point,
 * after writing `fault point reached: <point>` to stderr synchronously (nothing buffered
 * is lost, and nothing else is flushed: as a crash). An unknown name fails the start.
 */
export function parseCrashAt(text: string | undefined): { point: FaultPointName; nth: number } | null {
  if (!text) return null;
  const [name, nthText] = text.split('#');
  if (!(FAULT_POINTS as readonly string[]).includes(name!)) throw new Error(`WARREN_TEST_CRASH_AT: unknown fault point ${name}`);
  const nth = nthText === undefined ? 1 : Number(nthText);
  if (!Number.isInteger(nth) || nth < 1) throw new Error(`WARREN_TEST_CRASH_AT: #nth must be a positive integer, got ${nthText}`);
  return { point: name as FaultPointName, nth };
}

/**
 * Installs the WARREN_TEST_CRASH_AT hook alone: a control replica (src/server-control.ts)
 * has no driver for the other hooks, but its reservations and operations reach fault points.
 */
export function crashAtForTests(): void {
  const armed = parseCrashAt(process.env.WARREN_TEST_CRASH_AT);
  if (!armed) return;
  let seen = 0;
  installFaultHook((name) => {
    if (name !== armed.point || ++seen < armed.nth) return;
    writeSync(2, `fault point reached: ${name}#${seen}\n`);
    process.kill(process.pid, 'SIGKILL');
  });
}

export function installTestHooks(driver: Driver, log: Logger): void {
  crashAtForTests();
  slowStartForTests(driver);
  holdLayerOpsForTests(driver, log);
}
