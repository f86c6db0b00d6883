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
stamp="$venv/.greet-requirements"

py="$(command -v python3 || true)"
if [ -z "$py" ]; then
  echo "!!! openapi setup: python3 not found: schemathesis and openapi-spec-validator are not installed" >&2
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  if ! "$py" -m venv "$venv"; then
    # Debian ships venv's ensurepip separately.
    rm -rf "$venv"
    ver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo -n); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$ver-venv" ||
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    "$py" -m venv "$venv"
  fi
fi

want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$here/requirements.txt"
  echo "$want" >"$stamp"
fi
echo "openapi setup: $("$venv/bin/schemathesis" --version 2>&1 | head -1)," \
  "openapi-spec-validator $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("openapi-spec-validator"))')"
