// Package app builds the callpulse daemon from its configuration and runs
// it: sinks start before sources (spool, then the ClickHouse writer, then
// the HTTP server) and stop in reverse, so nothing is accepted that cannot
// be made durable and nothing durable is left half-written.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sync/errgroup"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/ingest"
	"github.com/callpulse/callpulse/ingest/asterisk"
	"github.com/callpulse/callpulse/internal/logredact"
	"github.com/callpulse/callpulse/live"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/recordings"
	"github.com/callpulse/callpulse/scoring"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// ShutdownTimeout bounds how long in-flight webhook requests may take to
// finish after a stop signal.
const ShutdownTimeout = 15 * time.Second

// App is a running daemon.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	reg      *prometheus.Registry
	spool    *spool.Spool
	db       *warehouse.DB
	server   *http.Server
	listener net.Listener
	pprof    net.Listener // debug.pprof_listen; nil when off
	ready    *readiness
	hub      *live.Hub

	writerReader     *spool.Reader
	webhookProviders []ingest.Provider
	asterisk         *asterisk.Source
	norm             *phone.Normalizer
	crm              *crmsync.Outbox
	crmSyncers       []*crmsync.Syncer
	scorer           *scoring.Scorer
	store            *analytics.Store // the API's, the gauges' and the report's: one copy of what it keeps
	recordings       *recordings.Store
	recordingLinks   *recordings.Links // signs the recording links put on CRM cards

	cancelWorkers context.CancelFunc
	workers       *errgroup.Group
	serveErr      chan error
	cleanup       cleanups
}

// Start builds every part, starts the background workers and the HTTP
// server, and returns once the server listens. Stop it with Shutdown.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *App, err error) {
	if err := cfg.ValidateForServe(); err != nil {
		return nil, err
	}
	// Library errors may quote phone numbers (a ClickHouse error quotes its
	// query): they are redacted above Debug (internal/logredact).
	log = slog.New(logredact.New(log.Handler()))
	a := &App{cfg: cfg, log: log, reg: prometheus.NewRegistry(), ready: &readiness{}}
	defer func() {
		if err != nil {
			_ = a.cleanup.run()
		}
	}()
	a.reg.MustRegister(collectors.NewGoCollector(
		// go_gc_heap_live_bytes, the heap the last GC found live, beside
		// go_memstats_*: what a leak grows (make soak, docs/performance.md).
		collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)}),
	), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.startPprof(); err != nil {
		return nil, err
	}
	a.hub = a.newHub()

	a.spool, err = spool.Open(spool.Options{
		Dir:          filepath.Join(cfg.DataDir, "spool"),
		SegmentBytes: int64(cfg.Spool.SegmentBytes),
		MaxBytes:     int64(cfg.Spool.MaxBytes),
		Logger:       log.With("component", "spool"),
		Metrics:      spool.NewMetrics(a.reg),
	})
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	a.cleanup.add("close spool", a.spool.Close)

	a.db, err = warehouse.Open(cfg.ClickHouse.DSN, warehouse.Options{
		DialTimeout: cfg.ClickHouse.DialTimeout, QueryTimeout: cfg.ClickHouse.QueryTimeout,
		Cluster: cfg.ClickHouse.Cluster,
	})
	if err != nil {
		return nil, err
	}
	a.cleanup.add("close clickhouse", a.db.Close)

	norm, err := phone.NewNormalizer(cfg.DefaultRegion)
	if err != nil {
		return nil, err
	}
	a.norm = norm
	if a.scorer, err = newScorer(cfg, a.db); err != nil {
		return nil, err
	}
	a.store = analytics.NewStore(a.db.Conn(), cfg.Location())
	if a.webhookProviders, err = a.providers(norm); err != nil {
		return nil, err
	}
	// Providers that hand a recording reference rather than a URL know how
	// to turn it into a download.
	locators := map[string]recordings.Locator{}
	for _, p := range a.webhookProviders {
		if l, ok := p.(recordings.Locator); ok {
			locators[p.Name()] = l
		}
	}
	if a.asterisk, err = a.newAsterisk(norm); err != nil {
		return nil, err
	}
	if a.asterisk != nil {
		locators[asterisk.Name] = a.asterisk
	}
	a.recordings, err = a.newRecordings(locators)
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	a.cleanup.add("close recordings", a.recordings.Close)
	if a.recordingLinks, err = a.newRecordingLinks(); err != nil {
		return nil, err
	}
	if a.crm, a.crmSyncers, err = a.newCRM(); err != nil {
		return nil, fmt.Errorf("crm: %w", err)
	}
	if a.crm != nil {
		a.cleanup.add("close CRM outbox", a.crm.Close)
	}

	workerCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancelWorkers = cancel
	a.workers, workerCtx = errgroup.WithContext(workerCtx)
	if err := a.startWorkers(workerCtx); err != nil {
		cancel()
		return nil, err
	}

	mux, err := a.routes()
	if err != nil {
		cancel()
		return nil, err
	}
	tlsConfig, err := serverTLS(cfg.TLS)
	if err != nil {
		cancel()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	refused := promauto.With(a.reg).NewCounter(prometheus.CounterOpts{
		Name: "callpulse_http_connections_refused_total",
		Help: "Connections answered 503 and closed because max_connections were open.",
	})
	a.listener = newLimitListener(ln, cfg.MaxConnections, tlsConfig != nil, refused.Inc)
	a.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	a.serveErr = make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			a.serveErr <- a.server.ServeTLS(a.listener, "", "")
			return
		}
		a.serveErr <- a.server.Serve(a.listener)
	}()
	log.Info("callpulse listening", "addr", a.Addr(), "tls", tlsConfig != nil, "clickhouse", cfg.ClickHouse.RedactedDSN(),
		"data_dir", cfg.DataDir, "timezone", cfg.Timezone)
	return a, nil
}

// serverTLS is the server's TLS configuration, or nil to serve plain HTTP.
func serverTLS(c config.TLSConfig) (*tls.Config, error) {
	if !c.Enabled() {
		return nil, nil
	}
	cert, err := c.Load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// Addr is the address the HTTP server listens on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// Registry is the daemon's metrics registry.
func (a *App) Registry() *prometheus.Registry { return a.reg }

// Wait blocks until ctx is done or the HTTP server fails, then shuts down.
func (a *App) Wait(ctx context.Context) error {
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-a.serveErr:
		a.log.Error("http server failed", "err", serveErr)
	}
	return errors.Join(serveErr, a.Shutdown())
}

// Shutdown stops accepting requests and waits for in-flight ones, then
// stops the workers (which flush their batches and commit their cursors),
// then closes the spool and ClickHouse, in that order.
func (a *App) Shutdown() error {
	a.log.Info("shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := a.server.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stop http server: %w", err))
	}
	a.cancelWorkers()
	if err := a.workers.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		errs = append(errs, fmt.Errorf("stop workers: %w", err))
	}
	errs = append(errs, a.cleanup.run())
	a.log.Info("stopped")
	return errors.Join(errs...)
}

// cleanups is a LIFO list of named teardown steps.
type cleanups []struct {
	name string
	fn   func() error
}

func (c *cleanups) add(name string, fn func() error) {
	*c = append(*c, struct {
		name string
		fn   func() error
	}{name, fn})
}

func (c *cleanups) run() error {
	var errs []error
	for i := len(*c) - 1; i >= 0; i-- {
		if err := (*c)[i].fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", (*c)[i].name, err))
		}
	}
	*c = nil
	return errors.Join(errs...)
}

// WaitWritten blocks until ClickHouse is migrated and the writer has
// written every record that was durable on the spool when it was called, or
// ctx is done. Tools
// and tests use it to know the numbers are complete.
func (a *App) WaitWritten(ctx context.Context) error {
	target := a.spool.Stats().LastSeq
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !a.ready.migrated.Load() || a.writerReader.Committed() < target {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for clickhouse writer: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}
