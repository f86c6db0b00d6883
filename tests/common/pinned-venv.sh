# Sourced by the setup scripts of tests that drive Python tools: one venv
# per tool set, so no set of pins can move another's.
#
#   pinned_venv NAME REQUIREMENTS VENV
#
# Makes VENV (installing Debian's python3-venv when ensurepip is missing)
# and pip-installs REQUIREMENTS into it, only when that file changed since
# the last install. Returns 1, after saying so, when there is no python3: the
# tests then fail under CI and skip loudly elsewhere.
pinned_venv() {
  local name=$1 requirements=$2 venv=$3 py ver want
  local stamp="$venv/.greet-requirements"
  py="$(command -v python3 || true)"
  if [ -z "$py" ]; then
    echo "!!! $name setup: python3 not found: $requirements is not installed" >&2
    return 1
  fi
  if [ ! -x "$venv/bin/python" ]; then
    if ! "$py" -m venv "$venv"; then
      # Debian ships venv's ensurepip separately.
      rm -rf "$venv"
      ver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
      local sudo=()
      if [ "$(id -u)" -ne 0 ]; then sudo=(sudo -n); fi
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$ver-venv" ||
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
      "$py" -m venv "$venv"
    fi
  fi
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      -r "$requirements"
    echo "$want" >"$stamp"
  fi
}
