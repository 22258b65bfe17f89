/**
 * Dockerfile build benchmark (issue 12, suite `image-build`):
 * - build_cache_hit: wall time of POST /images/build → `done` for a rebuild of a small
 *   Dockerfile (FROM debian-12, COPY, two RUNs, WORKDIR, ENV, CMD) with nothing changed —
 *   every step a cache hit, the image named again — over BENCH_BUILD_RUNS (10) rebuilds,
 *   the context sent each time; baseline: the first (uncached) build of the same Dockerfile
 *   in the same run.
 * Target (aimed at, not tested): ≤ 1 s.
 */
import { randomBytes } from 'node:crypto';
import { api, startServer } from '../test/support/warren.js';
import { ensureTestImages } from '../test/support/images.js';
import { build, contextDir, doneOf } from '../test/support/builds.js';
import { result, type BenchResult } from './stats.js';

export const IMAGE_BUILD_BENCHMARKS = ['build_cache_hit'];
const RUNS = Number(process.env.BENCH_BUILD_RUNS ?? 10);

export async function imageBuildBenchmarks(): Promise<BenchResult[]> {
  await ensureTestImages(['debian-12']);
  const server = await startServer({ env: { WARREN_RATE_LIMIT: '0' } });
  const tag = randomBytes(4).toString('hex');
  const name = `bench/build-${tag}:1`;
  const ctx = contextDir({
    Dockerfile: ['FROM debian-12', 'COPY app/ /srv/app/', `RUN echo ${tag} > /srv/app/tag`, 'WORKDIR /srv/app',
      'RUN ls -l > listing.txt', 'ENV MODE=bench', 'CMD ["sleep", "600"]'].join('\n'),
    'app/main.sh': 'echo hello\n',
    'app/data.txt': 'x'.repeat(64 * 1024),
  });
  try {
    const timed = async (): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const o = await build(server, ctx.dir, { name });
      doneOf(o);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const first = await timed();
    const rebuilds: number[] = [];
    for (let i = 0; i < RUNS; i++) rebuilds.push(await timed());
    return [result('build_cache_hit', 'ms', rebuilds, 'the first (uncached) build of the same Dockerfile', [first])];
  } finally {
    ctx.rm();
    await api(server, 'DELETE', `/images/${name}`);
    await server.stop();
  }
}
