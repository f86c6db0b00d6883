#!/usr/bin/env bash
# Installs what tests/types.rs drives, idempotently and without prompts (run
# by scripts/test, no stdin, CI may be set): TypeScript, pinned by
# package-lock.json, via npm ci into tests/types/node_modules. The install is
# skipped while the lock file is unchanged (a stamp file remembers its hash).
# Node and npm come from tests/browser/setup.sh; without them this says so and
# the tests fail under CI and skip loudly elsewhere.
set -euo pipefail
cd "$(dirname "$0")"
exec </dev/null

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "!!! types setup: node/npm not found: TypeScript is not installed" >&2
  exit 0
fi

fresh() { [ -f "$2" ] && [ "$(cat "$2")" = "$(sha256sum "$1" | cut -d' ' -f1)" ]; }
stamp() { sha256sum "$1" | cut -d' ' -f1 >"$2"; }

if ! fresh package-lock.json node_modules/.greet-lock; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  stamp package-lock.json node_modules/.greet-lock
fi
echo "types setup: done (tsc $(node_modules/.bin/tsc --version))"
