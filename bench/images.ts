/**
 * Image benchmarks (issue 12), each beside a baseline measured in the same run:
 * - create_from_imported  POST /workspace → enable → first `exec true`, from an imported image
 *                         (the debian-12 base plus a small layer, imported from an OCI layout);
 *                         baseline: the same from the catalog's debian-12. Target: within 10 %.
 * - import_throughput     MiB/s of importing a ~500 MiB single-layer OCI layout through
 *                         POST /images {path} (digest check, unpack, hashing, commit);
 *                         baseline: `tar -x` of the same layer tar. Target ≥ 0.5× tar.
 * - image_disk_sharing    MB on disk of ten imported images sharing the debian-12 base
 *                         (distinct layers, du); baseline: the sum of the ten images' sizes.
 * - build_cache_hit       (bench/image-build.ts) a rebuild with nothing changed.
 * `npm run bench -- images` runs them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from 'oblien';
import { api, startServer, type TestServer } from '../test/support/warren.js';
import { ensureTestImages, testImageStore } from '../test/support/images.js';
import { layerTar, writeOciLayout } from '../test/support/oci-fixtures.js';
import { diskUsage } from '../src/images/layer-store.js';
import { result, type BenchResult } from './stats.js';

export const IMAGE_BENCHMARKS = ['create_from_imported', 'import_throughput', 'image_disk_sharing'] as const;

const N = Number(process.env.BENCH_IMAGE_N ?? 20);
const BIG_MB = Number(process.env.BENCH_IMPORT_MB ?? 512);

async function createToFirstExec(server: TestServer, image: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const created = await api(server, 'POST', '/workspace', { image, config: { memory_mb: 128, disk_size_mb: 64, network_config: { public_ingress: true } } });
  if (created.status !== 201) throw new Error(`create failed: ${created.text}`);
  const id = created.body.workspace.id as string;
  const { body } = await api(server, 'POST', `/workspace/${id}/runtime-api-access/enable`);
  const res = await new Runtime({ token: body.token, baseUrl: server.url }).exec.run(['true']);
  if (res.exit_code !== 0) throw new Error('exec true failed');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await api(server, 'DELETE', `/workspace/${id}`);
  return ms;
}

function appLayer(dir: string, n: number): string {
  mkdirSync(join(dir, 'opt/app'), { recursive: true });
  writeFileSync(join(dir, 'opt/app/version'), `${n}\n`);
  return dir;
}

async function importPath(server: TestServer, path: string, name: string): Promise<{ layers: string[]; size_bytes: number }> {
  const res = await api(server, 'POST', '/images', { path, name });
  if (res.status !== 201) throw new Error(`import failed: ${res.text}`);
  return res.body.image;
}

async function createFromImported(server: TestServer, work: string, base: string): Promise<BenchResult> {
  const layout = join(work, 'app-image');
  await writeOciLayout([base, appLayer(join(work, 'app'), 0)], {}, layout);
  await importPath(server, layout, 'bench/imported:1');
  await createToFirstExec(server, 'bench/imported:1'); // warm-up of both
  await createToFirstExec(server, 'debian-12');
  const imported: number[] = [];
  const catalog: number[] = [];
  for (let i = 0; i < N; i++) {
    imported.push(await createToFirstExec(server, 'bench/imported:1'));
    catalog.push(await createToFirstExec(server, 'debian-12'));
  }
  await api(server, 'DELETE', '/images/bench/imported:1');
  return result('create_from_imported', 'ms', imported, 'create_to_first_exec from the catalog\'s debian-12 (same run)', catalog);
}

async function importThroughput(server: TestServer, work: string): Promise<BenchResult> {
  const big = join(work, 'big');
  mkdirSync(big);
  execFileSync('sh', ['-c', `for i in $(seq 1 ${BIG_MB / 4}); do head -c 4194304 /dev/urandom > ${big}/f$i; done`]);
  const layout = join(work, 'big-image');
  await writeOciLayout([big], {}, layout);
  const tarFile = join(work, 'big.tar');
  writeFileSync(tarFile, await layerTar(big));
  const mib = BIG_MB;
  const ours: number[] = [];
  const tar: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    await importPath(server, layout, 'bench/big:1');
    ours.push(mib / (Number(process.hrtime.bigint() - t0) / 1e9));
    await api(server, 'DELETE', '/images/bench/big:1');
    const out = join(work, `untar-${i}`);
    mkdirSync(out);
    const t1 = process.hrtime.bigint();
    execFileSync('tar', ['-xf', tarFile, '-C', out]);
    execFileSync('sync', ['-f', out]);
    tar.push(mib / (Number(process.hrtime.bigint() - t1) / 1e9));
    rmSync(out, { recursive: true, force: true });
  }
  return result('import_throughput', 'MiB/s (higher is better)', ours, 'tar -x of the same layer tar, then sync (same run)', tar);
}

async function diskSharing(server: TestServer, work: string, base: string): Promise<BenchResult> {
  const sizes: number[] = [];
  const layers = new Set<string>();
  for (let i = 1; i <= 10; i++) {
    const layout = join(work, `share-${i}`);
    await writeOciLayout([base, appLayer(join(work, `share-app-${i}`), i)], {}, layout);
    const img = await importPath(server, layout, `bench/share-${i}:1`);
    sizes.push(img.size_bytes);
    img.layers.forEach((l) => layers.add(l));
  }
  const store = testImageStore().layers;
  let onDisk = 0;
  for (const l of layers) onDisk += await diskUsage(store.layerDir(l));
  for (let i = 1; i <= 10; i++) await api(server, 'DELETE', `/images/bench/share-${i}:1`);
  const mb = (b: number) => b / 1e6;
  return result('image_disk_sharing', 'MB on disk', [mb(onDisk)], 'sum of the ten images\' sizes', [mb(sizes.reduce((a, b) => a + b, 0))]);
}

export async function imageBenchmarks(): Promise<BenchResult[]> {
  const debian = (await ensureTestImages(['debian-12']))['debian-12']!;
  const base = testImageStore().layers.layerDir(debian.layers[0]!);
  const work = mkdtempSync(join(tmpdir(), 'warren-bench-images-'));
  const server = await startServer({ env: { WARREN_IMAGE_IMPORT_DIRS: work, WARREN_RATE_LIMIT: '0' } });
  try {
    return [
      await createFromImported(server, work, base),
      await importThroughput(server, work),
      await diskSharing(server, work, base),
    ];
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
