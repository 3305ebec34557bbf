package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/callpulse/callpulse/internal/freeport"
	"github.com/callpulse/callpulse/internal/scrape"
)

// daemon is `callpulse serve` running as a child process with its data in a
// temp dir, configured by defaults and CALLPULSE_* environment only.
type daemon struct {
	cmd          *exec.Cmd
	base         string // http://127.0.0.1:port
	webhookToken string
	dsn          string
	dataDir      string
	logPath      string
	exited       chan struct{}
}

func startDaemon(bin, chAddr, database string) (*daemon, error) {
	dir, err := os.MkdirTemp("", "callpulse-bench-*")
	if err != nil {
		return nil, err
	}
	return startDaemonIn(bin, chAddr, database, dir)
}

// startDaemonIn starts the daemon with its data under dir/data (which may
// hold a spool already) and extraEnv added to its environment (such as
// CALLPULSE_CONFIG); stop removes dir.
func startDaemonIn(bin, chAddr, database, dir string, extraEnv ...string) (*daemon, error) {
	port, err := freeport.Get()
	if err != nil {
		return nil, err
	}
	d := &daemon{
		base:         fmt.Sprintf("http://127.0.0.1:%d", port),
		webhookToken: randomToken(),
		dsn:          fmt.Sprintf("clickhouse://%s/%s", chAddr, database),
		dataDir:      filepath.Join(dir, "data"),
		logPath:      filepath.Join(dir, "callpulse.log"),
		exited:       make(chan struct{}),
	}
	var env []string
	for _, kv := range os.Environ() { // nothing from the caller's callpulse setup leaks in
		if !strings.HasPrefix(kv, "CALLPULSE_") {
			env = append(env, kv)
		}
	}
	env = append(env, extraEnv...)
	env = append(env,
		"CALLPULSE_LISTEN=127.0.0.1:"+strconv.Itoa(port),
		"CALLPULSE_CLICKHOUSE_DSN="+d.dsn,
		"CALLPULSE_DATA_DIR="+d.dataDir,
		"CALLPULSE_API_TOKEN="+randomToken(),
		"CALLPULSE_GENERIC_TOKEN="+d.webhookToken,
	)
	logFile, err := os.Create(d.logPath)
	if err != nil {
		return nil, err
	}
	d.cmd = exec.Command(bin, "serve")
	d.cmd.Env, d.cmd.Stdout, d.cmd.Stderr = env, logFile, logFile
	if err := d.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	go func() { _ = d.cmd.Wait(); logFile.Close(); close(d.exited) }()

	// Polling a starting server is the one unavoidable wait; bounded.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(d.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		select {
		case <-d.exited:
			return nil, fmt.Errorf("callpulse serve exited during start-up; see %s", d.logPath)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("callpulse not ready within 60s; see %s", d.logPath)
		}
	}
}

// stop sends SIGTERM (graceful shutdown) and kills the daemon if it has not
// exited after 20 s.
func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	_ = os.RemoveAll(filepath.Dir(d.dataDir))
}

// metrics scrapes the daemon's /metrics into name{labels} → value.
func (d *daemon) metrics() (map[string]float64, error) {
	return scrape.Metrics(context.Background(), d.base+"/metrics")
}

const lagMetric = `callpulse_spool_cursor_lag_records{consumer="`

// consumerLags picks each spool consumer's cursor lag out of scraped metrics.
func (d *daemon) consumerLags(m map[string]float64) map[string]float64 {
	lags := map[string]float64{}
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, lagMetric); ok {
			lags[strings.TrimSuffix(name, `"}`)] = v
		}
	}
	return lags
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// drainResult is how a spool consumer worked off its backlog once the load
// stopped.
type drainResult struct {
	before, after float64       // lag when the load stopped, and at the end of the watch
	took          time.Duration // until the lag was 0; 0 if it never was
}

// watchDrain polls the consumers' lags until every one is 0 or within has
// passed.
func (d *daemon) watchDrain(ctx context.Context, within time.Duration) (map[string]*drainResult, time.Duration, error) {
	m, err := d.metrics()
	if err != nil {
		return nil, 0, err
	}
	res := map[string]*drainResult{}
	for name, lag := range d.consumerLags(m) {
		res[name] = &drainResult{before: lag, after: lag}
	}
	start := time.Now()
	for {
		busy := false
		for _, r := range res {
			if r.after > 0 {
				busy = true
			} else if r.took == 0 {
				r.took = max(time.Since(start), time.Millisecond)
			}
		}
		if !busy || time.Since(start) > within {
			return res, time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if m, err := d.metrics(); err == nil {
			for name, lag := range d.consumerLags(m) {
				if r := res[name]; r != nil {
					r.after = lag
				}
			}
		}
	}
}

// cpuSeconds is the user+system CPU time a process has used so far.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// machineCPUSeconds is the busy (not idle or iowait) CPU time of all cores
// since boot.
func machineCPUSeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n") // "cpu user nice system idle iowait irq softirq steal ..."
	var busy float64
	for i, f := range strings.Fields(line)[1:] {
		if v, err := strconv.ParseFloat(f, 64); err == nil && i != 3 && i != 4 && i < 8 {
			busy += v
		}
	}
	return busy / 100
}

// busyCPU measures how many cores were busy over d.
func busyCPU(d time.Duration) float64 {
	b0 := machineCPUSeconds()
	time.Sleep(d)
	return (machineCPUSeconds() - b0) / d.Seconds()
}

func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
