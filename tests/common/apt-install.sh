# Sourced by the setup scripts that need Debian packages (Chromium, buildah).
#
#   apt_install PACKAGE...
#
# Installs without prompts or recommended extras, through `sudo -n` when not
# root (a password prompt would hang CI, so it fails instead).
apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo -n); fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@"
}
