package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/internal/freeport"
	"github.com/callpulse/callpulse/loadgen"
	"github.com/callpulse/callpulse/spool"
)

// procStats is one sample of the daemon: what the kernel says about the
// process, and what its Go runtime says on /metrics (bytes).
type procStats struct {
	at                    time.Duration // since the soak started (soak only)
	rssKB, anonKB, fileKB int64         // VmRSS = RssAnon + RssFile + RssShmem (/proc/PID/status)
	fds                   int
	goroutines            float64
	// httpConns is the fds that are accepted connections of the daemon's
	// HTTP server, and httpGoroutines the goroutines serving them (soak
	// only): the load generator's share of fds and goroutines, which comes
	// and goes with its connections.
	httpConns            int
	httpGoroutines       float64
	heapLive             float64 // go_gc_heap_live_bytes: marked live by the last GC
	heapInuse, heapAlloc float64 // go_memstats_heap_{inuse,alloc}_bytes: live and not yet collected
	goSys                float64 // go_memstats_sys_bytes: all the runtime got from the OS
}

func readProc(d *daemon) procStats {
	pid := d.cmd.Process.Pid
	var st procStats
	if f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			switch k {
			case "VmRSS":
				st.rssKB = kb
			case "RssAnon":
				st.anonKB = kb
			case "RssFile":
				st.fileKB = kb
			}
		}
		f.Close()
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		st.fds = len(ents)
	}
	if m, err := d.metrics(); err == nil {
		st.goroutines = m["go_goroutines"]
		st.heapLive = m["go_gc_heap_live_bytes"]
		st.heapInuse = m["go_memstats_heap_inuse_bytes"]
		st.heapAlloc = m["go_memstats_heap_alloc_bytes"]
		st.goSys = m["go_memstats_sys_bytes"]
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
// goroutines and open files, to show they stay flat (see soakVerdict). With
// f.soakProfiles set it also saves heap profiles of the daemon at the end of
// each quarter of the run, to compare with go tool pprof -base, and keeps
// the daemon's log.
func soak(ctx context.Context, f flags) (bool, error) {
	if err := dropDatabases(ctx, f.chAddr, "callpulse_bench_soak"); err != nil {
		return false, err
	}
	d, pprofBase, err := startSoakDaemon(f)
	if err != nil {
		return false, err
	}
	defer d.stop()
	fmt.Printf("\n== Soak: %.0f events/s for %s, the daemon sampled every %s ==\n", f.soakRate, f.soak, f.soakEvery)
	fmt.Println("MiB: RSS = anon + file (+ shmem) from /proc/PID/status; live = heap the last GC marked live;",
		"in-use, alloc, sys = go_memstats_heap_inuse, heap_alloc, sys")
	fmt.Println("gor, fds: the daemon's goroutines and open files besides those of its HTTP connections (http, the load generator's",
		"and this bench's: the load generator closes its own after each run and the daemon's side goes a moment later)")
	fmt.Printf("%8s %7s %7s %6s %7s %7s %7s %7s %5s %5s %5s %10s %7s %6s\n",
		"elapsed", "RSS", "anon", "file", "live", "in-use", "alloc", "sys", "gor", "fds", "http", "sent", "errors", "load")
	start := time.Now()
	target := webhookTarget(d.base, d.webhookToken, "soak")
	quarter := max(int(f.soak/f.soakEvery)/4, 1)
	var samples []procStats
	var profiles []string
	var sent, errs int64
	for time.Since(start) < f.soak && ctx.Err() == nil {
		res := loadgen.Fixed(ctx, target, loadgen.Options{Duration: f.soakEvery, Rate: f.soakRate, Workers: soakWorkers})
		sent += res.OK
		errs += res.Errors()
		s := readProc(d)
		if err := readHTTPShare(ctx, d, pprofBase, &s); err != nil {
			return false, err
		}
		s.at = time.Since(start).Round(time.Second)
		samples = append(samples, s)
		fmt.Printf("%8s %7.1f %7.1f %6.1f %7.1f %7.1f %7.1f %7.1f %5.0f %5d %5d %10d %7d %6s\n", s.at,
			kib(s.rssKB), kib(s.anonKB), kib(s.fileKB), mib(s.heapLive), mib(s.heapInuse), mib(s.heapAlloc), mib(s.goSys),
			s.goroutines-s.httpGoroutines, s.fds-s.httpConns, s.httpConns, sent, errs, loadAvg())
		if f.soakProfiles != "" && (len(samples)%quarter == 0 || time.Since(start) >= f.soak) {
			path := filepath.Join(f.soakProfiles, fmt.Sprintf("heap-%02d-%s.pb.gz", len(samples), s.at))
			if err := saveHeapProfile(ctx, pprofBase, path); err != nil {
				return false, err
			}
			profiles = append(profiles, path)
		}
	}
	if len(samples) < 8 {
		return false, fmt.Errorf("soak too short: %d samples, want at least 8 (raise -soak)", len(samples))
	}
	v := soakVerdict(samples)
	fmt.Println(v)
	fmt.Printf("%d requests failed or late (see the load column)\n", errs)
	if len(profiles) > 1 {
		fmt.Printf("heap profiles (after a forced GC): %s\n  what grew: go tool pprof -top -base %s %s\n",
			strings.Join(profiles, " "), profiles[0], profiles[len(profiles)-1])
	}
	if f.soakProfiles != "" {
		if err := keepLog(d, filepath.Join(f.soakProfiles, "callpulse.log")); err != nil {
			return false, err
		}
	}
	return v.flat, nil
}

// keepLog copies the daemon's log, which stop removes, to path and prints
// how many of its lines are warnings and errors.
func keepLog(d *daemon, path string) error {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	warn, errs := strings.Count(string(b), " level=WARN "), strings.Count(string(b), " level=ERROR ")
	fmt.Printf("daemon log: %s (%d warnings, %d errors)\n", path, warn, errs)
	return nil
}

// startSoakDaemon starts the daemon with debug.pprof_listen on a free
// loopback port and returns it with the base URL of its profiles.
func startSoakDaemon(f flags) (*daemon, string, error) {
	port, err := freeport.Get()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "callpulse-bench-soak-*")
	if err != nil {
		return nil, "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cfgPath := filepath.Join(dir, "callpulse.yml")
	err = os.WriteFile(cfgPath, fmt.Appendf(nil, "debug:\n  pprof_listen: %q\n", addr), 0o600)
	if err == nil && f.soakProfiles != "" {
		err = os.MkdirAll(f.soakProfiles, 0o755)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	d, err := startDaemonIn(f.daemon, f.chAddr, "callpulse_bench_soak", dir, "CALLPULSE_CONFIG="+cfgPath)
	if err != nil {
		return nil, "", err
	}
	return d, "http://" + addr, nil
}

// saveHeapProfile writes the daemon's heap profile, taken after a GC, to
// path.
func saveHeapProfile(ctx context.Context, pprofBase, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pprofBase+"/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile: HTTP %d", resp.StatusCode)
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		out.Close()
		return fmt.Errorf("heap profile to %s: %w", path, err)
	}
	return out.Close()
}

// readHTTPShare sets s.fds and s.httpConns from one listing of the
// daemon's fds, and s.goroutines and s.httpGoroutines from one goroutine
// profile (a consistent snapshot, unlike go_goroutines
// scraped a moment apart). The load generator closes its connections at the
// end of each run, and the daemon's side of them goes away a moment later:
// a sample taken then holds any number of them.
func readHTTPShare(ctx context.Context, d *daemon, pprofBase string, s *procStats) error {
	fds, conns, err := httpConns(d)
	if err != nil {
		return err
	}
	s.fds, s.httpConns = fds, conns
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pprofBase+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("goroutine profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("goroutine profile: HTTP %d", resp.StatusCode)
	}
	total, serving, err := countGoroutines(resp.Body, "net/http.(*conn).serve")
	if err != nil {
		return err
	}
	s.goroutines, s.httpGoroutines = float64(total), float64(serving)
	return nil
}

// countGoroutines reads a goroutine profile in its debug=1 text form and
// returns the total and the goroutines whose stack has fn in it.
func countGoroutines(r io.Reader, fn string) (total, with int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	n, counted := 0, false
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "goroutine profile: total "); ok {
			if total, err = strconv.Atoi(v); err != nil {
				return 0, 0, fmt.Errorf("goroutine profile: %q", line)
			}
			continue
		}
		if count, _, ok := strings.Cut(line, " @ "); ok { // "N @ 0x... 0x...": a stack N goroutines share
			n, _ = strconv.Atoi(count)
			counted = false
			continue
		}
		if !counted && strings.HasPrefix(line, "#") && strings.Contains(line, fn) {
			with += n
			counted = true
		}
	}
	return total, with, sc.Err()
}

// httpConns counts the daemon's fds, and those of them that are TCP
// connections accepted on its HTTP port: sockets whose inode /proc/net/tcp
// lists with that local port in a state other than LISTEN.
func httpConns(d *daemon) (fds, conns int, err error) {
	_, portStr, _ := strings.Cut(strings.TrimPrefix(d.base, "http://"), ":")
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("daemon port in %s: %w", d.base, err)
	}
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st ... inode (field 9)
			f := strings.Fields(line)
			if len(f) < 10 || f[3] == "0A" {
				continue
			}
			_, lport, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseUint(lport, 16, 16); err == nil && p == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	dir := fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && inodes[target] {
			conns++
		}
	}
	return len(ents), conns, nil
}

func kib(kb int64) float64  { return float64(kb) / 1024 }
func mib(b float64) float64 { return b / (1 << 20) }

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
