#!/usr/bin/env bash
# Installs what tests/kubernetes.rs drives: kubernetes-validate (with the
# Kubernetes schemas it bundles) and PyYAML, pinned by requirements.txt, into
# their own venv, $GREET_TOOLS/kubernetes-venv (apart from the interop
# clients' venv, so neither set of pins can move the other).
#
# Idempotent: pip runs only when requirements.txt changed since the last
# install. No stdin; CI may be set. A missing python3 is reported, not fatal
# here: the tests then fail under CI and skip loudly elsewhere.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec </dev/null
here=tests/kubernetes

export GREET_TOOLS="${GREET_TOOLS:-$PWD/.tools}"
venv="$GREET_TOOLS/kubernetes-venv"
stamp="$venv/.greet-requirements"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"

py="$(command -v python3 || true)"
if [ -z "$py" ]; then
  echo "!!! kubernetes setup: python3 not found: kubernetes-validate is not installed" >&2
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  if ! "$py" -m venv "$venv"; then
    # Debian ships venv's ensurepip separately.
    rm -rf "$venv"
    ver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo -n); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "python$ver-venv" ||
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
    "$py" -m venv "$venv"
  fi
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input -r "$here/requirements.txt"
  echo "$want" >"$stamp"
fi
echo "kubernetes setup: $("$venv/bin/kubernetes-validate" --version)"
