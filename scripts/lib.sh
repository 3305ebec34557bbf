# Shared helpers for the dev and test scripts. Source it; do not run it.
# shellcheck shell=bash

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# as_root runs a command as root, through sudo when we are not root.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

_apt_updated=""
# ensure_cmd CMD PKG...: install Debian packages PKG... unless CMD is on PATH.
ensure_cmd() {
  local cmd=$1; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  install_pkgs "$cmd" "$@"
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after installing $*"
}

# ensure_file FILE PKG...: install Debian packages PKG... unless FILE exists
# (for packages that put no command on PATH, such as zookeeper).
ensure_file() {
  local file=$1; shift
  [ -e "$file" ] && return 0
  install_pkgs "$file" "$@"
  [ -e "$file" ] || die "$file still missing after installing $*"
}

# install_pkgs WHAT PKG...: apt-get install PKG..., which provide WHAT.
install_pkgs() {
  local what=$1; shift
  command -v apt-get >/dev/null 2>&1 || die "$what is missing and this is not a Debian/Ubuntu system: install $* by hand"
  if [ -z "$_apt_updated" ]; then
    log "apt-get update"
    as_root apt-get update -qq || die "apt-get update failed"
    _apt_updated=1
  fi
  log "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  die "no free port found"
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds or time runs out.
wait_until() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}
