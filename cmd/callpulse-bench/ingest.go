package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/callpulse/callpulse/loadgen"
)

// side is one ingest target's runs and the CPU each process used in them.
type side struct {
	fixed, sat       *loadgen.Result
	fixedCPU, satCPU cpuUse
}

// noiseCores is how much CPU other processes may use during a run before
// its row is marked NOISY.
const noiseCores = 0.25

// cpuUse is cores used during a run: by the daemon, by this process (load
// generator, and the baseline server), by clickhouse-server, and by
// everything else on the machine (other processes and steal).
type cpuUse struct{ daemon, bench, clickhouse, other float64 }

// benchIngest runs the same load against a no-op handler in this process and
// against `callpulse serve` as a child process, and prints the table.
//
// The daemon runs as a child process, not app.Start in-process: like in
// production it then has its own runtime (GOMAXPROCS, GC, heap) and does not
// share a scheduler with the load generator, and its CPU use can be read
// from /proc on its own. The in-process run is only used for the profile.
func benchIngest(ctx context.Context, f flags) (base, cp side, err error) {
	fixed := loadgen.Options{Duration: f.duration, Rate: f.rate, Workers: f.workers}
	sat := loadgen.Options{Duration: f.duration, Workers: f.conns}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return base, cp, err
	}
	noop := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = noop.Serve(l) }()
	defer noop.Close()

	if err := dropDatabases(ctx, f.chAddr, "callpulse_bench", "callpulse_bench_profile"); err != nil {
		return base, cp, err
	}
	d, err := startDaemon(f.daemon, f.chAddr, "callpulse_bench")
	if err != nil {
		return base, cp, err
	}
	defer d.stop()
	m0, err := d.metrics()
	if err != nil {
		return base, cp, err
	}
	// The baseline runs first, while the just-started daemon idles (its CPU
	// is shown): run after callpulse's, it would compete with the daemon's
	// consumers still working off the backlog callpulse's runs left.
	pid := d.cmd.Process.Pid
	bt, ct := webhookTarget("http://"+l.Addr().String(), "noop", "base"), webhookTarget(d.base, d.webhookToken, "cp")
	warm := loadgen.Options{Duration: f.warmup, Workers: f.conns}
	loadgen.Saturate(ctx, bt, warm)
	base.fixed, base.fixedCPU = withCPU(pid, f.chPID, func() *loadgen.Result { return loadgen.Fixed(ctx, bt, fixed) })
	base.sat, base.satCPU = withCPU(pid, f.chPID, func() *loadgen.Result { return loadgen.Saturate(ctx, bt, sat) })
	loadgen.Saturate(ctx, ct, warm)
	cp.fixed, cp.fixedCPU = withCPU(pid, f.chPID, func() *loadgen.Result { return loadgen.Fixed(ctx, ct, fixed) })
	cp.sat, cp.satCPU = withCPU(pid, f.chPID, func() *loadgen.Result { return loadgen.Saturate(ctx, ct, sat) })
	m1, err := d.metrics()
	if err != nil {
		return base, cp, err
	}
	drains, watched, drainErr := d.watchDrain(ctx, f.drainWatch)
	rowsInCH, chErr := countRows(ctx, f.chAddr, "callpulse_bench")
	fmt.Println("\n== Ingest: POST /webhooks/generic, ~350-byte snapshot, loopback keep-alive ==")
	fmt.Printf("%-34s %10s %9s %9s %9s %7s   %s\n", "run", "events/s", "p50", "p99", "max", "errors", "CPU cores: daemon / bench / clickhouse / other")
	noisy := false
	row := func(name string, r *loadgen.Result, c cpuUse) {
		mark := ""
		if c.other > noiseCores {
			mark, noisy = "  NOISY", true
		}
		fmt.Printf("%-34s %10.0f %9s %9s %9s %7d   %.2f / %.2f / %.2f / %.2f%s\n", name, r.Rate(),
			ms(r.Quantile(50)), ms(r.Quantile(99)), ms(r.Max()), r.Errors(), c.daemon, c.bench, c.clickhouse, c.other, mark)
		if r.FirstErr != "" {
			fmt.Printf("%34s first error: %s\n", "", r.FirstErr)
		}
	}
	row(fmt.Sprintf("fixed %.0f/s  no-op baseline", f.rate), base.fixed, base.fixedCPU)
	row(fmt.Sprintf("fixed %.0f/s  callpulse", f.rate), cp.fixed, cp.fixedCPU)
	fmt.Printf("%-34s %9.2fx\n", "  ratio callpulse/baseline", cp.fixed.Rate()/base.fixed.Rate())
	row(fmt.Sprintf("saturation %d conns  no-op baseline", f.conns), base.sat, base.satCPU)
	row(fmt.Sprintf("saturation %d conns  callpulse", f.conns), cp.sat, cp.satCPU)
	fmt.Printf("%-34s %9.2fx\n", "  ratio callpulse/baseline", cp.sat.Rate()/base.sat.Rate())

	if noisy {
		fmt.Printf("NOISY: other processes used more than %.2f cores during that run; its figures understate what this machine can do\n", noiseCores)
	}
	perEvent := cp.satCPU.daemon / cp.sat.Rate() // CPU-seconds per event
	fmt.Printf("daemon CPU per event at saturation: %.0f us; with all %d cores to itself it could do at most %.0f events/s\n",
		perEvent*1e6, runtime.NumCPU(), float64(runtime.NumCPU())/perEvent)
	fmt.Printf("clickhouse-server CPU per event meanwhile: %.0f us (inserts with their materialized views, merges, the daemon's refresher and gauges)\n",
		cp.satCPU.clickhouse/cp.sat.Rate()*1e6)
	fmt.Printf("load generator + no-op server CPU per request (baseline saturation): %.0f us\n", base.satCPU.bench/base.sat.Rate()*1e6)
	delta := func(k string) float64 { return m1[k] - m0[k] }
	commits, records := delta("callpulse_spool_append_batches_total"), delta("callpulse_spool_appended_records_total")
	fsyncs := delta("callpulse_spool_fsync_duration_seconds_count")
	fmt.Printf("spool (both callpulse runs + warm-up): %.0f records in %.0f group commits = %.1f records/fsync, mean fsync %s\n",
		records, commits, records/max(commits, 1), ms(time.Duration(delta("callpulse_spool_fsync_duration_seconds_sum")/max(fsyncs, 1)*float64(time.Second))))
	if drainErr != nil {
		return base, cp, drainErr
	}
	fmt.Printf("spool consumers after the load stopped (watched %s):\n", watched.Round(100*time.Millisecond))
	for _, name := range sortedKeys(drains) {
		r := drains[name]
		if r.took > 0 {
			fmt.Printf("  %-12s backlog %6.0f records, worked off in %s\n", name, r.before, r.took.Round(10*time.Millisecond))
		} else {
			fmt.Printf("  %-12s backlog %6.0f records, still %.0f after %s (%.0f records/s): BEHIND\n",
				name, r.before, r.after, watched.Round(100*time.Millisecond), (r.before-r.after)/watched.Seconds())
		}
	}
	if chErr != nil || drains["clickhouse"] == nil || drains["clickhouse"].took == 0 {
		fmt.Printf("call_events rows: not verified (%v)\n", chErr)
	} else {
		fmt.Printf("call_events holds %d rows; the spool appended %.0f records\n", rowsInCH, m1["callpulse_spool_appended_records_total"])
	}
	return base, cp, nil
}

func withCPU(pid, chPID int, fn func() *loadgen.Result) (*loadgen.Result, cpuUse) {
	cpu := func(pid int) float64 {
		if pid == 0 {
			return 0
		}
		return cpuSeconds(pid)
	}
	d0, b0, c0, m0 := cpu(pid), cpuSeconds(os.Getpid()), cpu(chPID), machineCPUSeconds()
	r := fn()
	s := r.Elapsed.Seconds()
	u := cpuUse{daemon: (cpu(pid) - d0) / s, bench: (cpuSeconds(os.Getpid()) - b0) / s, clickhouse: (cpu(chPID) - c0) / s}
	u.other = max(0, (machineCPUSeconds()-m0)/s-u.daemon-u.bench-u.clickhouse)
	return r, u
}

func webhookTarget(base, token, prefix string) *loadgen.Target {
	return &loadgen.Target{
		URL:    base + "/webhooks/generic",
		Header: http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}},
		Body:   loadgen.CallSnapshot(fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())),
	}
}
