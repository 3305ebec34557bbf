#!/usr/bin/env bash
# make run: ClickHouse + callpulse + simulated PBX traffic on this machine.
# Everything lives under ./var; Ctrl-C stops all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

command -v go >/dev/null || die "Go is not installed (https://go.dev/doc/install)"
ensure_cmd clickhouse-server clickhouse-server clickhouse-client
[ -x bin/callpulse ] || go build -o bin/callpulse ./cmd/callpulse

mkdir -p var
export CALLPULSE_CONFIG=deploy/dev/callpulse.yml
tokenfile=var/dev-tokens
if [ ! -f "$tokenfile" ]; then
  rnd() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
  printf 'CALLPULSE_API_TOKEN=%s\nCALLPULSE_GENERIC_TOKEN=%s\n' "$(rnd)" "$(rnd)" > "$tokenfile"
  chmod 600 "$tokenfile"
fi
set -a; . "$tokenfile"; set +a

pids=()
stop_all() {
  trap - INT TERM EXIT
  log "stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  scripts/clickhouse.sh stop var/clickhouse || true
  log "stopped; data is kept under ./var (rm -rf var to start afresh)"
}
trap stop_all INT TERM EXIT

port=19000
if [ ! -f var/clickhouse/pid ] && (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then port=$(free_port); fi
port=$(scripts/clickhouse.sh start var/clickhouse "$port")
export CALLPULSE_CLICKHOUSE_DSN="clickhouse://127.0.0.1:$port/callpulse"
log "ClickHouse on 127.0.0.1:$port (data in var/clickhouse)"

listen=${CALLPULSE_LISTEN:-127.0.0.1:8080}
if (exec 3<>"/dev/tcp/${listen%:*}/${listen##*:}") 2>/dev/null; then listen="127.0.0.1:$(free_port)"; fi
export CALLPULSE_LISTEN=$listen

bin/callpulse migrate
bin/callpulse simulate --write-clients var/sim-clients.csv --write-deals var/sim-deals.csv
bin/callpulse import clients var/sim-clients.csv
bin/callpulse import deals var/sim-deals.csv

bin/callpulse serve >>var/callpulse.log 2>&1 &
pids+=($!)
wait_until 30 curl -fsS "http://$listen/healthz" || { tail -20 var/callpulse.log; die "callpulse did not start"; }
bin/callpulse simulate --backfill today --rate 0.5 --deals var/sim-deals.csv >>var/simulate.log 2>&1 &
pids+=($!)

today=$(TZ=Europe/Moscow date +%F)
cat <<MSG

callpulse is running with simulated PBX traffic.

  Talk time today:  curl -s -H "Authorization: Bearer $CALLPULSE_API_TOKEN" "http://$listen/api/v1/talk-time?from=$today&to=$today"
  Funnel today:     curl -s -H "Authorization: Bearer $CALLPULSE_API_TOKEN" "http://$listen/api/v1/sources?from=$today&to=$today"
  Call queue:       curl -s -H "Authorization: Bearer $CALLPULSE_API_TOKEN" "http://$listen/api/v1/queue"
  Metrics:          curl -s http://$listen/metrics | grep ^callpulse_talk
  Health:           http://$listen/healthz   http://$listen/readyz
  Generic webhook:  POST http://$listen/webhooks/generic  (Bearer \$CALLPULSE_GENERIC_TOKEN, see var/dev-tokens)
  ClickHouse:       clickhouse-client --port $port -d callpulse
  Logs:             var/callpulse.log  var/simulate.log

Press Ctrl-C to stop everything.
MSG
wait "${pids[0]}"
