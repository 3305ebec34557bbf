package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/loadgen"
	"github.com/callpulse/callpulse/spool"
)

// procStats is what the kernel says about the daemon process.
type procStats struct {
	rssKB      int64
	fds        int
	goroutines float64
}

func readProc(d *daemon) procStats {
	pid := d.cmd.Process.Pid
	var st procStats
	if f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				st.rssKB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			}
		}
		f.Close()
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		st.fds = len(ents)
	}
	if m, err := d.metrics(); err == nil {
		st.goroutines = m["go_goroutines"]
	}
	return st
}

// sampleWhile runs fn while sampling the daemon every interval.
func sampleWhile(d *daemon, interval time.Duration, fn func()) []procStats {
	done := make(chan struct{})
	out := make(chan []procStats, 1)
	go func() {
		var samples []procStats
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				out <- append(samples, readProc(d))
				return
			case <-t.C:
				samples = append(samples, readProc(d))
			}
		}
	}()
	fn()
	close(done)
	return <-out
}

// benchRSS measures the daemon's memory at a fixed 10,000 events/s.
func benchRSS(ctx context.Context, f flags) error {
	if err := dropDatabases(ctx, f.chAddr, "callpulse_bench_rss"); err != nil {
		return err
	}
	d, err := startDaemon(f.daemon, f.chAddr, "callpulse_bench_rss")
	if err != nil {
		return err
	}
	defer d.stop()
	idle := readProc(d)
	var res *loadgen.Result
	samples := sampleWhile(d, 250*time.Millisecond, func() {
		res = loadgen.Fixed(ctx, webhookTarget(d.base, d.webhookToken, "rss"), loadgen.Options{Duration: f.duration, Rate: 10000, Workers: f.workers})
	})
	var peak int64
	for _, s := range samples {
		peak = max(peak, s.rssKB)
	}
	fmt.Printf("\n== Memory at 10,000 events/s (fixed rate, %s) ==\n", f.duration)
	fmt.Printf("sent %.0f/s, p50 %s, p99 %s, %d errors\n", res.Rate(), ms(res.Quantile(50)), ms(res.Quantile(99)), res.Errors())
	fmt.Printf("daemon RSS: idle %.1f MiB, peak %.1f MiB, at the end %.1f MiB; goroutines %.0f → %.0f\n",
		float64(idle.rssKB)/1024, float64(peak)/1024, float64(samples[len(samples)-1].rssKB)/1024, idle.goroutines, samples[len(samples)-1].goroutines)
	return nil
}

// benchReplay writes n call events straight into a spool, starts the
// daemon on it and times how long its ClickHouse writer takes to work the
// backlog off: what a restart after a long ClickHouse outage costs.
func benchReplay(ctx context.Context, f flags, n int) (time.Duration, error) {
	if err := dropDatabases(ctx, f.chAddr, "callpulse_bench_replay"); err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "callpulse-bench-replay-*")
	if err != nil {
		return 0, err
	}
	sp, err := spool.Open(spool.Options{Dir: filepath.Join(dir, "data", "spool")})
	if err != nil {
		return 0, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	const batch = 5000
	payloads := make([][]byte, 0, batch)
	for i := range n {
		start := now.Add(-time.Duration(n-i) * time.Second)
		e := call.Event{Provider: "generic", CallID: fmt.Sprintf("replay-%d", i), EventKey: "snapshot", ReceivedAt: start.Add(3 * time.Minute),
			Direction: call.DirectionInbound, StartedAt: start, AnsweredAt: start.Add(7 * time.Second), EndedAt: start.Add(3 * time.Minute),
			Status: call.StatusAnswered, ClientPhone: fmt.Sprintf("+7916%07d", i%10_000_000), LinePhone: "+74951112233",
			Manager: strconv.Itoa(101 + i%8), ManagerRank: call.ManagerAnswered}
		b, err := e.Marshal()
		if err != nil {
			sp.Close()
			return 0, err
		}
		if payloads = append(payloads, b); len(payloads) == batch || i == n-1 {
			if _, err := sp.Append(ctx, payloads...); err != nil {
				sp.Close()
				return 0, fmt.Errorf("fill the spool: %w", err)
			}
			payloads = payloads[:0]
		}
	}
	if err := sp.Close(); err != nil {
		return 0, err
	}
	start := time.Now()
	d, err := startDaemonIn(f.daemon, f.chAddr, "callpulse_bench_replay", dir)
	if err != nil {
		return 0, err
	}
	defer d.stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		m, err := d.metrics()
		if lag, ok := d.consumerLags(m)["clickhouse"]; err == nil && ok && lag == 0 {
			if rows, err := countRows(ctx, f.chAddr, "callpulse_bench_replay"); err == nil && rows == uint64(n) {
				return time.Since(start), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-d.exited:
			return 0, fmt.Errorf("daemon exited during the replay; see %s", d.logPath)
		case <-tick.C:
		}
	}
}

// soakWorkers bounds the load generator's connections during the soak, so
// that the daemon's open files measure the daemon, not the client's pool.
const soakWorkers = 64

// soak runs a fixed rate for a long time and samples the daemon's memory,
// goroutines and open files, to show they stay flat.
func soak(ctx context.Context, f flags) (bool, error) {
	if err := dropDatabases(ctx, f.chAddr, "callpulse_bench_soak"); err != nil {
		return false, err
	}
	d, err := startDaemon(f.daemon, f.chAddr, "callpulse_bench_soak")
	if err != nil {
		return false, err
	}
	defer d.stop()
	fmt.Printf("\n== Soak: %.0f events/s for %s, the daemon sampled every %s ==\n", f.soakRate, f.soak, f.soakEvery)
	fmt.Printf("%8s %10s %10s %6s %12s %10s %8s\n", "elapsed", "RSS MiB", "goroutines", "fds", "sent", "errors", "load")
	start := time.Now()
	target := webhookTarget(d.base, d.webhookToken, "soak")
	var samples []procStats
	var sent, errs int64
	for time.Since(start) < f.soak && ctx.Err() == nil {
		res := loadgen.Fixed(ctx, target, loadgen.Options{Duration: f.soakEvery, Rate: f.soakRate, Workers: soakWorkers})
		sent += res.OK
		errs += res.Errors()
		s := readProc(d)
		samples = append(samples, s)
		fmt.Printf("%8s %10.1f %10.0f %6d %12d %10d %8s\n", time.Since(start).Round(time.Second), float64(s.rssKB)/1024, s.goroutines, s.fds, sent, errs, loadAvg())
	}
	if len(samples) < 8 {
		return false, fmt.Errorf("soak too short: %d samples, want at least 8 (raise -soak)", len(samples))
	}
	// Flat: the last quarter's average within 20% (RSS), 10% + 5
	// (goroutines) and + 5 (fds) of the second quarter's — the first quarter
	// is warm-up (buffers, connection pools, GC finding its heap size).
	q := len(samples) / 4
	avg := func(from, to int, v func(procStats) float64) float64 {
		var sum float64
		for _, s := range samples[from:to] {
			sum += v(s)
		}
		return sum / float64(to-from)
	}
	rss := func(s procStats) float64 { return float64(s.rssKB) }
	gor := func(s procStats) float64 { return s.goroutines }
	fds := func(s procStats) float64 { return float64(s.fds) }
	early, late := [3]float64{avg(q, 2*q, rss), avg(q, 2*q, gor), avg(q, 2*q, fds)}, [3]float64{avg(3*q, len(samples), rss), avg(3*q, len(samples), gor), avg(3*q, len(samples), fds)}
	flat := late[0] <= 1.2*early[0] && late[1] <= 1.1*early[1]+5 && late[2] <= early[2]+5
	fmt.Printf("second quarter → last quarter: RSS %.1f → %.1f MiB, goroutines %.0f → %.0f, fds %.0f → %.0f (%d requests failed or late, see the load column): ",
		early[0]/1024, late[0]/1024, early[1], late[1], early[2], late[2], errs)
	if flat {
		fmt.Println("FLAT")
	} else {
		fmt.Println("GROWING")
	}
	return flat, nil
}

// loadAvg is the machine's one-minute load average, to tell a slow daemon
// from a busy machine.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
