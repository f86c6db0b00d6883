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

source tests/common/pinned-venv.sh
pinned_venv kubernetes "$here/requirements.txt" "$venv" || exit 0
echo "kubernetes setup: $("$venv/bin/kubernetes-validate" --version)"
