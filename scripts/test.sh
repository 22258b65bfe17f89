#!/usr/bin/env bash
# Runs the console's component tests, then every test file (unit tests beside the code, integration and end-to-end
# tests under test/) with Node's test runner, one file at a time: the
# integration tests start real sandboxes and servers on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
# The console's component tests (Vitest, happy-dom) first; the Node runner's summary ends the run.
npx vitest run --config console/vite.config.ts
mapfile -t files < <(find src test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
