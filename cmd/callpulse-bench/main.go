// Command callpulse-bench measures callpulse against baselines on this
// machine and prints the figures side by side (see docs/performance.md):
//
//   - ingest: POST /webhooks/generic on `callpulse serve` (a child process,
//     like production) against a no-op net/http handler in this process,
//     at a fixed rate (open loop) and at saturation (closed loop);
//   - ClickHouse: warehouse.EventWriter against a raw clickhouse-go batch
//     insert of the same rows.
//
// scripts/bench.sh (make bench) starts a private ClickHouse and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callpulse/callpulse/loadgen"
)

// Targets.
const (
	targetEventsPerSec = 20000
	targetRatio        = 0.5
)

type flags struct {
	daemon, chAddr, cpuProfile, wProf string
	soakProfiles                      string
	chPID, workers, conns, rows, rowB int
	rate                              float64
	duration, warmup, drainWatch      time.Duration
	ingest, writer, crm, rss          bool
	crmCalls, replay                  int
	soak, soakEvery                   time.Duration
	soakRate                          float64
}

func main() {
	var f flags
	flag.StringVar(&f.daemon, "daemon", "bin/callpulse", "callpulse `binary` to benchmark")
	flag.StringVar(&f.chAddr, "clickhouse", "127.0.0.1:9000", "ClickHouse native `host:port` (a private server: the bench creates databases)")
	flag.IntVar(&f.chPID, "clickhouse-pid", 0, "pid of clickhouse-server, to report its CPU use")
	flag.Float64Var(&f.rate, "rate", 5000, "open-loop request `rate` per second")
	flag.IntVar(&f.workers, "workers", 256, "open-loop workers (most requests in flight)")
	flag.IntVar(&f.conns, "conns", 64, "closed-loop connections at saturation")
	flag.DurationVar(&f.duration, "duration", 10*time.Second, "length of each ingest run")
	flag.DurationVar(&f.warmup, "warmup", time.Second, "saturation warm-up before each target's runs")
	flag.DurationVar(&f.drainWatch, "drain-watch", 10*time.Second, "how long to watch the daemon's spool consumers work off their backlog after the load")
	flag.IntVar(&f.rows, "writer-rows", 500_000, "rows for the ClickHouse writer comparison")
	flag.IntVar(&f.rowB, "writer-batch", 10_000, "rows per insert batch")
	flag.StringVar(&f.cpuProfile, "cpuprofile", "", "also profile an in-process daemon at saturation and write the CPU profile to `file`")
	flag.StringVar(&f.wProf, "writer-cpuprofile", "", "write a CPU profile of the writer comparison to `file` (labels side=writer, side=raw)")
	flag.BoolVar(&f.ingest, "ingest", true, "run the ingest comparison")
	flag.BoolVar(&f.writer, "writer", true, "run the ClickHouse writer comparison")
	flag.BoolVar(&f.crm, "crm", true, "run the CRM push throughput against the Bitrix24 limits")
	flag.IntVar(&f.crmCalls, "crm-calls", 3000, "calls pushed in the CRM run")
	flag.BoolVar(&f.rss, "rss", true, "measure the daemon's memory at 10,000 events/s")
	flag.IntVar(&f.replay, "replay", 1_000_000, "time the replay of this many spooled events into ClickHouse (0: skip)")
	flag.DurationVar(&f.soak, "soak", 0, "soak at -soak-rate for this long instead of the other runs (make soak: 10m)")
	flag.Float64Var(&f.soakRate, "soak-rate", 2000, "events/s during the soak")
	flag.DurationVar(&f.soakEvery, "soak-every", 30*time.Second, "sampling interval of the soak")
	flag.StringVar(&f.soakProfiles, "soak-profiles", "out/soak", "save the daemon's heap profiles at each quarter of the soak, and its log, in `dir` (\"\": none)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, f); err != nil {
		fmt.Fprintln(os.Stderr, "callpulse-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) (err error) {
	printMachine(f.chAddr)
	var verdicts []string
	check := func(name string, ok bool, got string) {
		verdict := "OK    "
		if !ok {
			verdict = "MISSED"
		}
		verdicts = append(verdicts, fmt.Sprintf("%s %-56s measured %s", verdict, name, got))
	}
	if f.soak > 0 {
		flat, err := soak(ctx, f)
		if err != nil {
			return fmt.Errorf("soak: %w", err)
		}
		check(fmt.Sprintf("%s soak at %.0f/s: memory, goroutines and fds flat", f.soak, f.soakRate), flat, map[bool]string{true: "flat", false: "growing"}[flat])
		fmt.Println("\n== Targets ==")
		for _, v := range verdicts {
			fmt.Println(v)
		}
		return nil
	}
	if f.ingest {
		base, cp, err := benchIngest(ctx, f)
		if err != nil {
			return err
		}
		check(fmt.Sprintf("ingest >= %d durable events/s on %d cores (saturation)", targetEventsPerSec, runtime.NumCPU()),
			cp.sat.Rate() >= targetEventsPerSec && cp.sat.Errors() == 0, fmt.Sprintf("%.0f/s, %d errors", cp.sat.Rate(), cp.sat.Errors()))
		ratio := cp.sat.Rate() / base.sat.Rate()
		check(fmt.Sprintf("ingest >= %.1fx the no-op baseline (saturation)", targetRatio), ratio >= targetRatio, fmt.Sprintf("%.2fx", ratio))
		check(fmt.Sprintf("fixed %.0f/s sustained, no errors", f.rate), cp.fixed.Rate() >= 0.99*f.rate && cp.fixed.Errors() == 0,
			fmt.Sprintf("%.0f/s, %d errors", cp.fixed.Rate(), cp.fixed.Errors()))
	}
	if f.writer {
		fmt.Println("\n== ClickHouse writer: warehouse.EventWriter.Write vs raw clickhouse-go PrepareBatch/Append/Send ==")
		var wr *writerResult
		_, use := withCPU(0, f.chPID, func() *loadgen.Result {
			start := time.Now()
			wr, err = benchWriter(ctx, f.chAddr, f.rows, f.rowB, f.wProf)
			return &loadgen.Result{Elapsed: time.Since(start)}
		})
		if err != nil {
			return fmt.Errorf("writer bench: %w", err)
		}
		wRate, rRate := float64(wr.rows)/wr.writer.Seconds(), float64(wr.rows)/wr.raw.Seconds()
		fmt.Printf("%-34s %10.0f rows/s  (%d rows in batches of %d: %s)\n",
			"EventWriter.Write (spool records)", wRate, wr.rows, f.rowB, wr.writer.Round(time.Millisecond))
		fmt.Printf("%-34s %10.0f rows/s  (%s)\n", "raw PrepareBatch/Append/Send", rRate, wr.raw.Round(time.Millisecond))
		fmt.Printf("%-34s %9.2fx\n", "  ratio writer/raw", wRate/rRate)
		fmt.Printf("call.Unmarshal of the same %d spool records alone: %s (%.1f us/row)\n",
			wr.rows, wr.decode.Round(time.Millisecond), float64(wr.decode.Microseconds())/float64(wr.rows))
		fmt.Printf("CPU cores during the comparison: bench %.2f, clickhouse %.2f, other processes %.2f", use.bench, use.clickhouse, use.other)
		if use.other > noiseCores {
			fmt.Print("  NOISY")
		}
		fmt.Println()
		check(fmt.Sprintf("ClickHouse writer >= %.1fx raw insert", targetRatio), wRate >= targetRatio*rRate, fmt.Sprintf("%.2fx", wRate/rRate))
	}
	if f.rss {
		if err := benchRSS(ctx, f); err != nil {
			return fmt.Errorf("memory bench: %w", err)
		}
	}
	if f.replay > 0 {
		took, err := benchReplay(ctx, f, f.replay)
		if err != nil {
			return fmt.Errorf("replay bench: %w", err)
		}
		fmt.Printf("\n== Replay: %d events already in the spool, daemon started with ClickHouse up ==\n", f.replay)
		fmt.Printf("start-up to the last row in ClickHouse: %s (%.0f events/s)\n", took.Round(10*time.Millisecond), float64(f.replay)/took.Seconds())
	}
	if f.crm {
		fmt.Printf("\n== CRM push: %d calls finished together, outbox → Bitrix24 client → emulator with the leaky bucket (%d, then %.0f/s) ==\n",
			f.crmCalls, bitrixBurst, bitrixRate)
		r, err := benchCRM(ctx, f.crmCalls)
		if err != nil {
			return fmt.Errorf("CRM bench: %w", err)
		}
		got, bound := float64(r.calls)/r.elapsed.Seconds(), float64(r.calls)/r.bound.Seconds()
		fmt.Printf("%-34s %10.1f calls/s  (%d calls in %s, %d requests, %d answered QUERY_LIMIT_EXCEEDED)\n",
			"pushed", got, r.calls, r.elapsed.Round(time.Millisecond), r.requests, r.throttled)
		fmt.Printf("%-34s %10.1f calls/s  (the requests needed beyond the first %d, at %.0f/s: %s)\n",
			"limit-bound maximum", bound, bitrixBurst, bitrixRate, r.bound.Round(time.Millisecond))
		fmt.Printf("%-34s %9.0f%%\n", "  fraction of the maximum", 100*got/bound)
		check(fmt.Sprintf("CRM push >= %.0f%% of the Bitrix24 limit-bound maximum", 100*targetCRM), got >= targetCRM*bound && r.throttled == 0,
			fmt.Sprintf("%.0f%%, %d throttled", 100*got/bound, r.throttled))
	}
	if err := benchQueries(ctx, f.chAddr, check); err != nil {
		return fmt.Errorf("analytics queries bench: %w", err)
	}
	fmt.Println("\n== Targets ==")
	for _, v := range verdicts {
		fmt.Println(v)
	}
	if f.cpuProfile != "" {
		res, err := profileDaemon(ctx, f.cpuProfile, f.chAddr, loadgen.Options{Duration: f.duration, Workers: f.conns})
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		fmt.Printf("\n== In-process profile run (daemon and load generator share one process) ==\n%s\nCPU profile: %s\n", res, f.cpuProfile)
		return os.WriteFile(f.cpuProfile+".requests", fmt.Appendf(nil, "%d\n", res.OK), 0o644)
	}
	return nil
}

func printMachine(chAddr string) {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	chVersion := "unknown"
	if conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{chAddr}}); err == nil {
		if v, err := conn.ServerVersion(); err == nil {
			chVersion = v.String()
		}
		conn.Close()
	}
	fmt.Println("== Machine ==")
	fmt.Printf("nproc %d, %s, Linux %s\n", runtime.NumCPU(), model, strings.TrimSpace(string(kernel)))
	fmt.Printf("Go %s, ClickHouse %s (private server on %s)\n", runtime.Version(), chVersion, chAddr)
	fmt.Printf("load from other processes before the run: %.2f of %d cores busy\n", busyCPU(time.Second), runtime.NumCPU())
}

func dropDatabases(ctx context.Context, chAddr string, names ...string) error {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{chAddr}})
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, name := range names {
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			return fmt.Errorf("clickhouse on %s: %w", chAddr, err)
		}
	}
	return nil
}

func countRows(ctx context.Context, chAddr, database string) (uint64, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{chAddr}})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n uint64
	err = conn.QueryRow(ctx, "SELECT count() FROM "+database+".call_events").Scan(&n)
	return n, err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
