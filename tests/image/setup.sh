#!/usr/bin/env bash
# Installs what scripts/image and tests/image.rs need, idempotently and
# without prompts (run by scripts/test, no stdin, CI may be set):
#   - buildah (Debian), only when missing: builds and runs the image with no
#     daemon (vfs storage, chroot isolation, so no runc either);
#   - binutils (Debian), only when readelf is missing: scripts/image checks
#     with it that the binary is static.
set -euo pipefail
exec </dev/null

source "$(dirname "$0")/../common/apt-install.sh"

missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v readelf >/dev/null || missing+=(binutils)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "tests/image: installing ${missing[*]} (apt-get)"
  apt_install "${missing[@]}"
fi
echo "tests/image: $(buildah --version)"
