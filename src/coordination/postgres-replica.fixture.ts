/**
 * A coordinator in a process of its own, for the crash tests of postgres.test.ts (the test
 * SIGKILLs it). `node --import tsx postgres-replica.fixture.ts <url> hold <workspace> <ttlMs>`
 * takes the workspace's lease and prints `holding`; `… <url> lead - <ttlMs>` prints
 * `leader <epoch>` once it leads. Both print `started` once connected. Either then waits to be killed.
 */
import { PostgresCoordination } from './postgres.js';

const [url, mode, id, ttl] = process.argv.slice(2);
const coord = await PostgresCoordination.open(url!, { instanceId: 'child', leaseTtlMs: Number(ttl) });
await coord.start();
process.stdout.write('started\n'); // connected, electing (the leader bench times from here)
setInterval(() => {}, 60_000); // stay until killed
// A clean stop (the leader bench's baseline): leadership is given up with the session.
process.once('SIGTERM', () => void coord.close().finally(() => process.exit(0)));
if (mode === 'hold') {
  void coord.run(id!, () => {
    process.stdout.write('holding\n');
    return new Promise<never>(() => {});
  });
} else {
  const tell = (epoch: number | null) => process.stdout.write(`leader ${epoch}\n`);
  if (coord.leadership.isLeader()) tell(coord.leadership.epoch());
  else coord.leadership.onChange((leader, epoch) => leader && tell(epoch));
}
