#!/usr/bin/env bash
# Installs the OpenAPI tools tests/openapi.rs drives, every version pinned
# (requirements.txt), into their own venv so they never meet the interop
# clients' pins:
#
#   $GREET_TOOLS/openapi-venv   openapi-spec-validator, schemathesis
#
# Idempotent (the install is skipped while requirements.txt is unchanged), no
# prompts, no stdin; scripts/test runs it. A missing Python is reported, not
# fatal here: the tests then fail under CI and skip loudly elsewhere.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec </dev/null
here=tests/openapi

export GREET_TOOLS="${GREET_TOOLS:-$PWD/.tools}"
venv="$GREET_TOOLS/openapi-venv"

source tests/common/pinned-venv.sh
pinned_venv openapi "$here/requirements.txt" "$venv" || exit 0
echo "openapi setup: $("$venv/bin/schemathesis" --version 2>&1 | head -1)," \
  "openapi-spec-validator $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("openapi-spec-validator"))')"
