#!/usr/bin/env bash
# govulncheck: report known vulnerabilities in the code paths callpulse
# actually calls (its dependencies and the Go standard library).
#
# The vulnerability database is GOVULNDB (default https://vuln.go.dev), or a
# local copy as file:///path: the unpacked https://vuln.go.dev/vulndb.zip
# (index/db.json, index/modules.json, ID/*.json; openSUSE ships the same as
# the package govulncheck-vulndb in /usr/share/vulndb).
#
# When the database cannot be reached the check is NOT RUN and says so in a
# banner; it fails instead when CALLPULSE_REQUIRE_VULNCHECK=1. Findings
# always fail. docs/security.md explains why CI here cannot reach it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

version=v1.9.0
db=${GOVULNDB:-https://vuln.go.dev}
tools="${CALLPULSE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/callpulse/tools}"
bin="$tools/govulncheck-$version"

reachable() {
  case "$db" in
    file://*) [ -f "${db#file://}/index/db.json" ] ;;
    *) curl -fsS --max-time 10 -o /dev/null "$db/index/db.json.gz" 2>/dev/null ;;
  esac
}

if ! reachable; then
  msg="govulncheck NOT RUN: the vulnerability database $db cannot be reached"
  [ "${CALLPULSE_REQUIRE_VULNCHECK:-}" = 1 ] && die "$msg (CALLPULSE_REQUIRE_VULNCHECK=1)"
  printf '\n!!! %s.\n!!! Set GOVULNDB=file:///path/to/vulndb (see scripts/vulncheck.sh) or run where it is reachable.\n\n' "$msg" >&2
  exit 0
fi

if [ ! -x "$bin" ]; then
  log "installing govulncheck $version"
  mkdir -p "$tools"
  GOBIN="$tools/.install" go install "golang.org/x/vuln/cmd/govulncheck@$version" || die "go install govulncheck failed"
  mv "$tools/.install/govulncheck" "$bin"
fi
log "govulncheck ($db)"
"$bin" -db "$db" ./...
