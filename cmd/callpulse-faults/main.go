// Command callpulse-faults runs the fault suite (package faults) against a
// callpulse binary: each scenario starts `callpulse serve`, a private
// ClickHouse and an amoCRM emulator, injects its fault under load and
// reconciles what the PBX was told against what ClickHouse and the CRM
// hold. It prints a table and exits 1 if any webhook acknowledged with a
// 2xx was lost or duplicated, or any call in the CRM was.
//
// scripts/faults.sh (make faults) builds the daemon and runs it; with
// -short it is the CI form in scripts/test.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/callpulse/callpulse/faults"
)

func main() {
	var (
		opts      faults.Options
		scenarios string
		keep      bool
	)
	flag.StringVar(&opts.Daemon, "daemon", "bin/callpulse", "callpulse `binary` to test")
	flag.BoolVar(&opts.Short, "short", false, "the short form (CI): fewer cycles, shorter outages, fewer calls")
	flag.IntVar(&opts.Cycles, "cycles", 0, "kill -9 cycles (default 20, 3 with -short)")
	flag.StringVar(&scenarios, "scenario", "", "comma-separated scenarios to run (default all): "+names())
	flag.Uint64Var(&opts.Seed, "seed", 0, "seed of the traffic and fault timing (default random)")
	flag.StringVar(&opts.Dir, "dir", "", "work `directory` (default a temp dir, removed unless a scenario fails)")
	flag.BoolVar(&keep, "keep", false, "keep the work directory")
	flag.Parse()
	if scenarios != "" {
		opts.Scenarios = strings.Split(scenarios, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, opts, keep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "callpulse-faults:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(ctx context.Context, opts faults.Options, keep bool) (bool, error) {
	if opts.Dir == "" {
		dir, err := os.MkdirTemp("", "callpulse-faults-*")
		if err != nil {
			return false, err
		}
		opts.Dir = dir
	}
	opts.Log = os.Stderr
	results, err := faults.Run(ctx, opts)
	fmt.Println()
	if werr := faults.WriteTable(os.Stdout, results); werr != nil && err == nil {
		err = werr
	}
	ok := err == nil
	for _, r := range results {
		ok = ok && r.OK()
	}
	if ok && !keep {
		_ = os.RemoveAll(opts.Dir)
	} else {
		fmt.Fprintf(os.Stderr, "work directory (logs, ClickHouse data): %s\n", opts.Dir)
	}
	return ok, err
}

func names() string {
	var n []string
	for _, s := range faults.Scenarios() {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}
