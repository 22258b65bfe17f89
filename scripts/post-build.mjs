// After tsc and the console's Vite build: makes the compiled CLI executable (tsc keeps the
// shebang but not the mode) and writes gzip and brotli forms of the console's text assets
// beside them, so the server sends them without compressing per request.
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';

chmodSync(new URL('../dist/cli/warren.js', import.meta.url), 0o755);

// The in-workspace agent as one ES module (src/drivers/ns/bwrap-args.ts AGENT_ENTRY): a sandbox's Node
// then reads and compiles one file instead of resolving about sixty, the largest part of the agent's
// start after Node's own. ws and node-pty stay outside (loaded on first use, resolved beside it).
buildSync({
  entryPoints: [new URL('../dist/agent/main.js', import.meta.url).pathname],
  outfile: new URL('../dist/agent/main.bundle.mjs', import.meta.url).pathname,
  bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning',
  external: ['ws', '@homebridge/node-pty-prebuilt-multiarch'],
});

const consoleDir = new URL('../dist/console', import.meta.url).pathname;
const COMPRESSIBLE = /\.(js|css|html|svg|json|txt)$/;

function compressTree(dir) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) compressTree(full);
    else if (COMPRESSIBLE.test(name)) {
      const body = readFileSync(full);
      writeFileSync(`${full}.gz`, gzipSync(body, { level: 9 }));
      writeFileSync(`${full}.br`, brotliCompressSync(body, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
      }));
    }
  }
}
compressTree(consoleDir);
