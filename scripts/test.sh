#!/usr/bin/env bash
# make test: install and start what the tests need (ClickHouse, promtool),
# run go vet and go test -race, the short fault suite, govulncheck (when its
# database is reachable), fuzz each parser briefly, stop the servers.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

command -v go >/dev/null || die "Go is not installed (https://go.dev/doc/install)"
ensure_cmd clickhouse-server clickhouse-server clickhouse-client
ensure_cmd promtool prometheus
# The scale-out tests (internal/chcluster): a private ZooKeeper for the
# replicated ClickHouse cluster (Debian's package brings Java), and HAProxy
# to check the load balancer examples in deploy/cluster.
ensure_file /usr/share/java/zookeeper.jar zookeeper
ensure_cmd haproxy haproxy
# The e-mail report tests: a real SMTP server with an HTTP API (maildev, from
# npm) and headless Chromium to render the HTML.
ensure_cmd chromium chromium fonts-dejavu-core
ensure_cmd npm nodejs npm
maildev_dir="${CALLPULSE_MAILDEV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/callpulse/maildev-3.0.0}"
if [ ! -x "$maildev_dir/node_modules/.bin/maildev" ]; then
  log "installing maildev 3.0.0"
  npm install --no-audit --no-fund --prefix "$maildev_dir" maildev@3.0.0 >/dev/null || die "npm install maildev failed"
fi
export CALLPULSE_MAILDEV_DIR="$maildev_dir"
# The dashboards' schema check (ajv on the schema from @grafana/schema).
log "npm ci (dashboards/schema)"
(cd dashboards/schema && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in dashboards/schema failed"

tmp=$(mktemp -d /tmp/callpulse-test.XXXXXX)
cleanup() { scripts/clickhouse.sh stop "$tmp/clickhouse" || true; rm -rf "$tmp"; }
trap cleanup EXIT

port=$(scripts/clickhouse.sh start "$tmp/clickhouse")
export CALLPULSE_TEST_CLICKHOUSE="127.0.0.1:$port"
log "ClickHouse $(clickhouse-client --port "$port" -q 'SELECT version()') on $CALLPULSE_TEST_CLICKHOUSE"

log "go vet"
go vet ./...

log "go test -race"
go test -race -count=1 -timeout 20m ./...

log "fault suite, short form (make faults runs the full one)"
scripts/faults.sh -short

scripts/vulncheck.sh

FUZZTIME=${FUZZTIME:-5s} scripts/fuzz.sh
