/**
 * Fault injection for crash tests, switched on by WARREN_TEST_* environment variables
 * and inert without them: each makes an operation provably in flight for as long as a
 * test needs to SIGKILL the server in its middle.
 */
import { PassThrough } from 'node:stream';
import type { Logger } from 'pino';
import { canSnapshot, type Driver } from './drivers/driver.js';

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

export function installTestHooks(driver: Driver, log: Logger): void {
  slowStartForTests(driver);
  holdLayerOpsForTests(driver, log);
}
