/**
 * Stand-in for the Warren server in the "survives kill -9" test: starts one sandbox
 * with its own NsDriver, prints `started <pid>`, then idles until it is SIGKILLed.
 * Usage: node --import tsx server-stub.ts <instanceId> '<SandboxSpec JSON>'
 */
import { NsDriver } from '../../src/drivers/ns/driver.js';
import type { SandboxSpec } from '../../src/drivers/driver.js';

const [instanceId, specJson] = process.argv.slice(2);
const spec = JSON.parse(specJson!) as SandboxSpec;
const driver = new NsDriver({ instanceId: instanceId! });
await driver.create(spec);
const status = await driver.start(spec);
process.stdout.write(`started ${status.pid}\n`);
setInterval(() => undefined, 60_000);
