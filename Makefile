# callpulse — the two commands that matter are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/callpulse
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build run test vet bench soak fuzz faults clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/callpulse

## run: install what is missing, start ClickHouse and callpulse with simulated PBX traffic (Ctrl-C stops all)
run: build
	./scripts/run.sh

## test: install and start the test servers, go vet, go test -race, brief fuzzing; stop the servers
test:
	./scripts/test.sh

## bench: load and throughput figures against their baselines
bench: build
	./scripts/bench.sh

## soak: 10 minutes at 2,000 events/s; memory, goroutines and open files must stay flat
soak: build
	BENCH_ARGS="-soak $${SOAK:-10m} -soak-rate $${SOAK_RATE:-2000}" ./scripts/bench.sh

## faults: the fault suite — daemon killed, ClickHouse and CRM failing, spool full, re-delivery, clock skew (docs/reliability.md)
faults:
	./scripts/faults.sh $(FAULTS_ARGS)

## fuzz: longer fuzzing of every parser (FUZZTIME per target, default 60s)
fuzz:
	FUZZTIME=$${FUZZTIME:-60s} ./scripts/fuzz.sh

vet:
	$(GO) vet ./...

clean:
	rm -rf bin out
