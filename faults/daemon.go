package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/callpulse/callpulse/internal/freeport"
	"github.com/callpulse/callpulse/internal/scrape"
)

// Daemon is `callpulse serve` as a child process, configured by a YAML
// file and CALLPULSE_* secrets, with its data and log under a directory.
// It keeps its port across restarts, so the load generator's URL stays
// valid while it is killed and started again.
type Daemon struct {
	bin, dir     string
	base         string // http://127.0.0.1:port
	webhookToken string
	env          []string
	cmd          *exec.Cmd
	exited       chan struct{}
	starts       int
}

// DaemonConfig is what a scenario sets in the daemon's configuration.
type DaemonConfig struct {
	ClickHouse   string // host:port
	Database     string
	CRM          string // amoCRM emulator base URL
	CRMToken     string
	SpoolMax     string // spool.max_bytes, e.g. "1GiB"
	SpoolSegment string // spool.segment_bytes
}

// NewDaemon writes the configuration under dir; Start runs the daemon.
func NewDaemon(bin, dir string, cfg DaemonConfig) (*Daemon, error) {
	port, err := freeport.Get()
	if err != nil {
		return nil, err
	}
	d := &Daemon{bin: bin, dir: dir, base: fmt.Sprintf("http://127.0.0.1:%d", port), webhookToken: randomToken()}
	if cfg.SpoolMax == "" {
		cfg.SpoolMax, cfg.SpoolSegment = "1GiB", "64MiB"
	}
	// Short settle and recording waits so that the CRM side finishes within
	// the run; a CRM rate the emulator allows; no lead pulls (not under test).
	yaml := fmt.Sprintf(`listen: "127.0.0.1:%d"
data_dir: %q
log:
  level: info
clickhouse:
  dsn: "clickhouse://%s/%s"
  batch_age: 200ms
  dial_timeout: 2s
  query_timeout: 10s
spool:
  max_bytes: %s
  segment_bytes: %s
crm:
  settle: 1s
  recording_wait: 1s
  recording_poll: 1s
  amocrm:
    base_url: %q
    rate: 200
    burst: 20
    workers: 8
    pull:
      interval: 0s
`, port, filepath.Join(dir, "data"), cfg.ClickHouse, cfg.Database, cfg.SpoolMax, cfg.SpoolSegment, cfg.CRM)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(d.configPath(), []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	for _, kv := range os.Environ() { // nothing from the caller's callpulse setup leaks in
		if !strings.HasPrefix(kv, "CALLPULSE_") {
			d.env = append(d.env, kv)
		}
	}
	d.env = append(d.env, "CALLPULSE_API_TOKEN="+randomToken(), "CALLPULSE_GENERIC_TOKEN="+d.webhookToken,
		"CALLPULSE_AMOCRM_TOKEN="+cfg.CRMToken)
	return d, nil
}

func (d *Daemon) configPath() string { return filepath.Join(d.dir, "callpulse.yml") }

// LogPath is the daemon's log, appended to by every start.
func (d *Daemon) LogPath() string { return filepath.Join(d.dir, "callpulse.log") }

// DataDir is the daemon's data_dir.
func (d *Daemon) DataDir() string { return filepath.Join(d.dir, "data") }

// WebhookURL is the generic webhook's URL and Token its bearer token.
func (d *Daemon) WebhookURL() string { return d.base + "/webhooks/generic" }

// Token is the generic webhook's bearer token.
func (d *Daemon) Token() string { return d.webhookToken }

// Running reports whether the daemon process is up.
func (d *Daemon) Running() bool { return d.cmd != nil }

// Start runs `callpulse serve` and waits until /healthz answers (webhooks
// are accepted from then on, whether or not ClickHouse is up).
func (d *Daemon) Start(ctx context.Context) error {
	if d.cmd != nil {
		return errors.New("callpulse is already running")
	}
	logFile, err := os.OpenFile(d.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	d.starts++
	fmt.Fprintf(logFile, "---- faults: start %d at %s\n", d.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(d.bin, "serve", "--config", d.configPath())
	cmd.Env, cmd.Stdout, cmd.Stderr = d.env, logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s serve: %w", d.bin, err)
	}
	d.cmd, d.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(d.exited) }()
	client := &http.Client{Timeout: time.Second}
	err = waitFor(ctx, time.Minute, "callpulse answers /healthz", func(ctx context.Context) (bool, error) {
		select {
		case <-d.exited:
			return false, fmt.Errorf("callpulse serve exited during start-up; see %s", d.LogPath())
		default:
		}
		resp, err := client.Get(d.base + "/healthz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		d.Kill()
	}
	return err
}

// Kill sends SIGKILL — no shutdown, no flush — and waits for the exit.
func (d *Daemon) Kill() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	d.cmd = nil
}

// Stop sends SIGTERM and waits for the graceful shutdown; it kills the
// daemon and reports an error if that takes over 30 s or fails.
func (d *Daemon) Stop() error {
	if d.cmd == nil {
		return nil
	}
	cmd := d.cmd
	_ = cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-d.exited:
	case <-t.C:
		d.Kill()
		return fmt.Errorf("callpulse did not stop within 30s of SIGTERM; see %s", d.LogPath())
	}
	d.cmd = nil
	if !cmd.ProcessState.Success() {
		return fmt.Errorf("callpulse stopped with %v; see %s", cmd.ProcessState, d.LogPath())
	}
	return nil
}

// Metrics scrapes /metrics into series (name{labels}) → value.
func (d *Daemon) Metrics(ctx context.Context) (map[string]float64, error) {
	return scrape.Metrics(ctx, d.base+"/metrics")
}

// Idle reports whether the daemon has nothing left to do: every spool
// consumer has caught up and the CRM outbox has no jobs.
func (d *Daemon) Idle(ctx context.Context) (bool, string, error) {
	m, err := d.Metrics(ctx)
	if err != nil {
		return false, "", err
	}
	consumers := 0
	for series, v := range m {
		switch {
		case strings.HasPrefix(series, "callpulse_spool_cursor_lag_records{"):
			consumers++
			if v > 0 {
				return false, fmt.Sprintf("%s = %v", series, v), nil
			}
		case strings.HasPrefix(series, "callpulse_crm_pending_jobs{") && v > 0:
			return false, fmt.Sprintf("%s = %v", series, v), nil
		}
	}
	if consumers == 0 {
		return false, "no callpulse_spool_cursor_lag_records series yet", nil
	}
	return true, "", nil
}

func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
