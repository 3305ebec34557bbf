#!/usr/bin/env bash
# make faults: the fault suite (package faults, docs/reliability.md). Builds
# bin/callpulse and bin/callpulse-faults and runs every scenario against a
# private ClickHouse the runner starts and stops itself. Arguments go to
# callpulse-faults: -short (the CI form, about a minute), -scenario NAME[,NAME],
# -cycles N, -seed N, -keep. Exits 1 if anything acknowledged was lost or
# duplicated.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

command -v go >/dev/null || die "Go is not installed (https://go.dev/doc/install)"
ensure_cmd clickhouse-server clickhouse-server clickhouse-client
log "building bin/callpulse and bin/callpulse-faults"
go build -o bin/callpulse ./cmd/callpulse
go build -o bin/callpulse-faults ./cmd/callpulse-faults
exec bin/callpulse-faults -daemon bin/callpulse "$@"
