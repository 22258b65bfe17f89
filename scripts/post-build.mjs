// After tsc and the console's Vite build: makes the compiled CLI executable (tsc keeps the
// shebang but not the mode) and writes gzip and brotli forms of the console's text assets
// beside them, so the server sends them without compressing per request.
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

chmodSync(new URL('../dist/cli/warren.js', import.meta.url), 0o755);

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
