/**
 * Build of the web console (served by `warren serve` at /console, same origin as the API).
 * `npm run build` runs it after tsc; the output goes to dist/console and scripts/post-build.mjs
 * pre-compresses it. Component tests (Vitest, happy-dom) are configured here too.
 */
import { defineConfig } from 'vitest/config';
import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/console/',
  plugins: [preact()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
  },
  test: {
    root,
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
