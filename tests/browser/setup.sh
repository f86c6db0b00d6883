#!/usr/bin/env bash
# Installs what tests/browser.rs drives, idempotently and without prompts
# (run by scripts/test, no stdin, CI may be set):
#   - Debian's Chromium, via apt-get, only when /usr/bin/chromium is missing
#     (sudo only when not root); playwright never downloads a browser;
#   - Node and npm from Debian, only when npm is missing;
#   - playwright-core, pinned by package-lock.json, via npm ci.
set -euo pipefail
cd "$(dirname "$0")"
exec </dev/null

source ../common/apt-install.sh

if [ ! -x /usr/bin/chromium ]; then
  echo "tests/browser: installing Chromium (apt-get)"
  apt_install chromium
fi

if ! command -v npm >/dev/null; then
  echo "tests/browser: installing Node and npm (apt-get)"
  apt_install nodejs npm
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "tests/browser: playwright-core needs Node 20 or newer, found $(node --version)" >&2
  exit 1
fi

echo "tests/browser: npm ci ($(/usr/bin/chromium --version 2>/dev/null || echo 'Chromium ?'), node $(node --version))"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
