/**
 * The fleet's cost (suite `fleet`, issue 16): what a request pays when the workspace lives
 * on a node daemon behind a control replica over PostgreSQL, against the single-process
 * `warren serve` on SQLite doing the same work on the same machine in the same run.
 *
 * The fleet is test/support/fleet.ts: one `warren node` in a network namespace of its own
 * (own bridge, subnet, nft tables; a veth to the host), one `warren control` on the host,
 * a private PostgreSQL. Both sides run with the warm pool off (the test servers' default:
 * a fleet create does not take a node's ready sandbox yet), so both boot every sandbox.
 *
 * - `create_to_first_exec_fleet`: the official client's create → `apiAccess.enable` → first
 *   `exec true` through the replica's gateway and the node's relay; baseline the same on
 *   `serve` (SQLite, direct), creates interleaved one by one, `BENCH_FLEET_N` (20) each.
 * - `exec_true_gateway_relay`: `rt.exec.run(['true'])` through the replica's gateway and the
 *   node relay; baseline the same through `serve`'s gateway straight to the agent,
 *   interleaved, `BENCH_FLEET_CALLS` (500) each.
 */
import Oblien, { Runtime } from 'oblien';
import { startServer, type TestServer } from '../test/support/warren.js';
import { adminClient } from '../test/support/workspaces.js';
import { ensureTestImages } from '../test/support/images.js';
import { startFleet, type Fleet } from '../test/support/fleet.js';
import { result, type BenchResult } from './stats.js';

export const FLEET_BENCHMARKS = ['create_to_first_exec_fleet', 'exec_true_gateway_relay'];
const N = Number(process.env.BENCH_FLEET_N ?? 20);
const CALLS = Number(process.env.BENCH_FLEET_CALLS ?? 500);

type Client = InstanceType<typeof Oblien>;
type Rt = InstanceType<typeof Runtime>;

interface Side {
  client: Client;
  server: TestServer;
  ids: string[];
}

/** create → enable → first `exec true`; ms. The workspace stays (its id in `ids`). */
async function createToFirstExec(side: Side): Promise<{ ms: number; rt: Rt }> {
  const t0 = performance.now();
  const ws: any = await side.client.workspaces.create({
    image: 'debian-12', memory_mb: 128, disk_size_mb: 64, config: { network_config: { public_ingress: true } },
  } as any);
  side.ids.push(ws.id);
  if (ws.status !== 'running') throw new Error(`create answered ${ws.status}`);
  const { token } = await side.client.workspaces.apiAccess.enable(ws.id);
  const rt = new Runtime({ token: token ?? '', baseUrl: side.server.url });
  const res = await rt.exec.run(['true']);
  if (res.exit_code !== 0) throw new Error('exec true failed');
  return { ms: performance.now() - t0, rt };
}

async function execTrue(rt: Rt): Promise<number> {
  const t0 = performance.now();
  const res = await rt.exec.run(['true']);
  if (res.exit_code !== 0) throw new Error('exec true failed');
  return performance.now() - t0;
}

async function deleteAll(side: Side): Promise<void> {
  for (const id of side.ids.splice(0)) await side.client.workspaces.delete(id).catch(() => {});
}

export async function fleetBenchmarks(): Promise<BenchResult[]> {
  await ensureTestImages(['debian-12']);
  const server = await startServer();
  let fleet: Fleet | null = null;
  const single: Side = { client: adminClient(server), server, ids: [] };
  try {
    fleet = await startFleet({
      nodes: 1, replicas: 1,
      node: () => ({ nodeId: 'bench-0', capacity: { cpus: 64, memoryMb: 65_536, diskMb: 1_000_000, maxWorkspaces: 256 } }),
    });
    const replica = fleet.replicas[0]!;
    const fleetServer = { url: replica.url, port: replica.port } as TestServer;
    const fleetSide: Side = { client: adminClient(fleetServer), server: fleetServer, ids: [] };
    // One create each first (image caches, first connections), not counted.
    await createToFirstExec(single);
    await createToFirstExec(fleetSide);
    const creates: number[] = [];
    const createsBase: number[] = [];
    for (let i = 0; i < N; i++) {
      createsBase.push((await createToFirstExec(single)).ms);
      creates.push((await createToFirstExec(fleetSide)).ms);
      // Not timed: keeps both hosts from filling over N creates (the first workspace of each stays).
      await single.client.workspaces.delete(single.ids.pop()!);
      await fleetSide.client.workspaces.delete(fleetSide.ids.pop()!);
    }
    const direct = (await createToFirstExec(single)).rt;
    const relayed = (await createToFirstExec(fleetSide)).rt;
    const execs: number[] = [];
    const execsBase: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      execsBase.push(await execTrue(direct));
      execs.push(await execTrue(relayed));
    }
    await deleteAll(fleetSide);
    return [
      result('create_to_first_exec_fleet', 'ms', creates, 'the same on a single-process warren serve over SQLite (direct, no relay), interleaved', createsBase),
      result('exec_true_gateway_relay', 'ms', execs, "rt.exec.run(['true']) through serve's gateway straight to the agent, interleaved", execsBase),
    ];
  } finally {
    await deleteAll(single);
    await fleet?.stop();
    await server.stop();
  }
}
