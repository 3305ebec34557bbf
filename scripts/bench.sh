#!/usr/bin/env bash
# make bench: ingest and ClickHouse-writer throughput of callpulse next to
# their baselines, on this machine (see docs/performance.md). Starts a
# private ClickHouse in a temp dir and stops it on exit. The analytics part at 10M calls takes 15-20 minutes (-queries-calls 2000000 shortens it; see docs/performance.md).
#
#   BENCH_DURATION=10s  length of each ingest run
#   BENCH_RATE=5000     open-loop request rate
#   BENCH_CONNS=64      connections at saturation
#   BENCH_PROFILE=0     skip the CPU profile of an in-process daemon at saturation
#                       (on by default: prints where its time goes, out/bench/cpu.pprof)
#   BENCH_ARGS="..."    more callpulse-bench flags, e.g. "-soak 10m" (make soak)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

command -v go >/dev/null || die "Go is not installed (https://go.dev/doc/install)"
ensure_cmd clickhouse-server clickhouse-server clickhouse-client
[ -x bin/callpulse ] || go build -o bin/callpulse ./cmd/callpulse

tmp=$(mktemp -d /tmp/callpulse-bench.XXXXXX)
cleanup() { scripts/clickhouse.sh stop "$tmp/clickhouse" || true; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building bin/callpulse-bench"
go build -o bin/callpulse-bench ./cmd/callpulse-bench

port=$(scripts/clickhouse.sh start "$tmp/clickhouse")
log "private ClickHouse on 127.0.0.1:$port"

profile_args=()
if [ "${BENCH_PROFILE:-1}" = 1 ] && [[ "${BENCH_ARGS:-}" != *-soak* ]]; then
  mkdir -p out/bench
  profile_args=(-cpuprofile out/bench/cpu.pprof)
fi

# The daemon's spool goes to a temp dir under TMPDIR: keep that on the
# same kind of disk as production (not tmpfs), or fsync costs nothing.
bin/callpulse-bench \
  -daemon bin/callpulse \
  -clickhouse "127.0.0.1:$port" \
  -clickhouse-pid "$(cat "$tmp/clickhouse/pid")" \
  -duration "${BENCH_DURATION:-10s}" \
  -rate "${BENCH_RATE:-5000}" \
  -conns "${BENCH_CONNS:-64}" \
  "${profile_args[@]}" ${BENCH_ARGS:-}

if [ ${#profile_args[@]} -gt 0 ]; then
  echo
  echo "== Where the daemon's CPU goes (in-process profile, goroutines labelled side=daemon; cumulative) =="
  reqs=$(cat out/bench/cpu.pprof.requests)
  top=$(go tool pprof -top -cum -unit=ms -nodecount=1000 -tagfocus=side=daemon bin/callpulse-bench out/bench/cpu.pprof 2>/dev/null)
  total=$(go tool pprof -tags -unit=ms bin/callpulse-bench out/bench/cpu.pprof 2>/dev/null | awk '$3 == "daemon" {sub(/ms$/, "", $1); print $1}')
  printf '%-58s %9s %7s %10s\n' "" "CPU ms" "share" "us/request"
  row() { awk -v l="$1" -v ms="$2" -v t="$total" -v n="$reqs" 'BEGIN { printf "%-58s %9d %6.1f%% %10.1f\n", l, ms, 100*ms/t, 1000*ms/n }'; }
  row "daemon total ($reqs requests)" "$total"
  while IFS='|' read -r label fn; do
    ms=$(awk -v fn="$fn" '$6 == fn { sub(/ms$/, "", $4); print $4; exit }' <<<"$top")
    [ -n "$ms" ] || ms=0
    row "$label" "$ms"
  done <<'LIST'
HTTP server, whole request (net/http conn.serve)|net/http.(*conn).serve
  read and parse the HTTP request|net/http.(*conn).readRequest
  webhook handler (ingest.Handler.ServeHTTP)|github.com/callpulse/callpulse/ingest.(*Handler).ServeHTTP
    generic.Parse|github.com/callpulse/callpulse/ingest/generic.(*Provider).Parse
      phone normalisation (phone.Normalizer)|github.com/callpulse/callpulse/phone.(*Normalizer).Normalize
      JSON decode of the snapshot|github.com/callpulse/callpulse/ingest/generic.decodeItem
    call.Event.Marshal for the spool|github.com/callpulse/callpulse/call.Event.Marshal
    JSON response (writeJSON)|github.com/callpulse/callpulse/ingest.writeJSON
spool committer (write + fsync)|github.com/callpulse/callpulse/spool.(*Spool).commit
  fsync|syscall.Fsync
ClickHouse writer (EventWriter.Write)|github.com/callpulse/callpulse/warehouse.(*EventWriter).Write
recordings consumer (recordings.Store.Write)|github.com/callpulse/callpulse/recordings.(*Store).Write
LIST
  echo "(GC background workers carry no label and are not in these figures: $(go tool pprof -tags -unit=ms bin/callpulse-bench out/bench/cpu.pprof 2>/dev/null | awk '/Total/ {print $3, "of", $5, "samples are labelled"}'))"
fi
