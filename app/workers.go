package app

import (
	"context"
	"net/url"
	"path/filepath"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/backoff"
	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/live"
	"github.com/callpulse/callpulse/recordings"
	"github.com/callpulse/callpulse/scoring"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// writerConsumer is the spool cursor name of the ClickHouse writer.
const writerConsumer = "clickhouse"

// startWorkers starts the background loops: migrate ClickHouse (retrying
// while it is down), then write call events from the spool and refresh the
// business gauges. Webhooks are accepted meanwhile: they wait on the spool.
func (a *App) startWorkers(ctx context.Context) error {
	reader, err := a.spool.Reader(writerConsumer)
	if err != nil {
		return err
	}
	a.writerReader = reader
	whMetrics := warehouse.NewMetrics(a.reg)
	writer := warehouse.NewEventWriter(a.db, a.cfg.SourceByLine(), whMetrics, a.log.With("component", "writer"))
	sources := make([]string, 0, len(a.cfg.Lines))
	for _, l := range a.cfg.Lines {
		sources = append(sources, l.Source)
	}
	gauges := analytics.NewGaugesWithOptions(a.reg, a.store, a.team(), analytics.GaugeOptions{
		CallbackSLA: a.cfg.Analytics.CallbackSLA,
		Sources:     sources,
		Timeout:     a.cfg.ClickHouse.QueryTimeout,
	}, a.log.With("component", "gauges"))
	scoringGauges := scoring.NewGauges(a.reg, a.scorer, a.log.With("component", "scoring"))

	recReader, err := a.spool.Reader(recordings.Consumer)
	if err != nil {
		return err
	}
	a.cleanup.add("close recordings cursor", recReader.Close)
	var crmReader *spool.Reader
	if a.crm != nil && a.crm.Pushes() {
		if crmReader, err = a.spool.Reader(crmsync.Consumer); err != nil {
			return err
		}
		a.cleanup.add("close CRM cursor", crmReader.Close)
	}

	if a.asterisk != nil {
		// ARI events go to the spool whether or not ClickHouse is up.
		a.workers.Go(func() error { return a.asterisk.Run(ctx) })
	}
	a.workers.Go(func() error {
		if err := a.migrate(ctx, whMetrics); err != nil {
			return nil // ctx done before ClickHouse came up
		}
		a.ready.setMigrated()
		rollup := analytics.NewRollup(a.db.Conn(), analytics.RollupOptions{
			Partitions: a.db,
			Zone:       a.cfg.Location(), Logger: a.log.With("component", "rollup"),
		})
		a.workers.Go(func() error { return rollup.Run(ctx) })
		a.workers.Go(func() error { return gauges.Run(ctx, a.cfg.Metrics.RefreshInterval) })
		a.workers.Go(func() error { return scoringGauges.Run(ctx, a.cfg.Metrics.RefreshInterval) })
		if err := a.startReports(ctx); err != nil {
			a.log.Error("nightly report disabled", "err", err)
		}
		// Recordings start after migrations: queuing checks ClickHouse for
		// recordings already stored.
		a.workers.Go(func() error {
			return spool.Consume(ctx, recReader, a.recordings, spool.ConsumeOptions{
				MaxBatch: 500, MaxAge: time.Second, Logger: a.log.With("component", "recordings"),
			})
		})
		a.workers.Go(func() error { return a.recordings.Run(ctx) })
		if crmReader != nil {
			// After migrations: the outbox looks recordings up in ClickHouse.
			a.workers.Go(func() error {
				return spool.Consume(ctx, crmReader, a.crm, spool.ConsumeOptions{
					MaxBatch: 500, MaxAge: time.Second,
					Logger: a.log.With("component", "crm"),
				})
			})
			a.workers.Go(func() error { return a.crm.Run(ctx) })
			a.workers.Go(func() error { return a.compactCRM(ctx, time.Hour) })
			if a.crm.MovesLeads() {
				a.workers.Go(func() error { return a.runHotLeads(ctx, a.cfg.Metrics.RefreshInterval) })
			}
		}
		for _, s := range a.crmSyncers {
			a.workers.Go(func() error { return s.Run(ctx) })
		}
		return spool.Consume(ctx, reader, writer, spool.ConsumeOptions{
			MaxBatch: a.cfg.ClickHouse.BatchRows,
			MaxAge:   a.cfg.ClickHouse.BatchAge,
			Logger:   a.log.With("component", "writer"),
		})
	})
	return nil
}

// migrate applies migrations, retrying with backoff until it succeeds or
// ctx is done.
func (a *App) migrate(ctx context.Context, m *warehouse.Metrics) error {
	b := backoff.New(backoff.Policy{Base: 500 * time.Millisecond, Max: 30 * time.Second})
	for {
		applied, err := a.db.Migrate(ctx)
		if err == nil {
			if len(applied) > 0 {
				a.log.Info("applied clickhouse migrations", "versions", applied)
			}
			return nil
		}
		m.CountError("migrate")
		a.log.Warn("clickhouse not ready, will retry", "err", err)
		if err := b.Wait(ctx); err != nil {
			return err
		}
	}
}

// team is the configured managers for analytics.
func (a *App) team() *analytics.Team {
	var ms []analytics.Manager
	for _, m := range a.cfg.Managers {
		ms = append(ms, analytics.Manager{ID: m.ID, Name: m.Name, Extensions: m.Extensions})
	}
	return analytics.NewTeam(ms)
}

// targets is the configured talk-time targets for analytics.
func (a *App) targets() analytics.Targets {
	return analytics.Targets{"A": a.cfg.Targets.A, "B": a.cfg.Targets.B, "C": a.cfg.Targets.C}
}

// newRecordings builds the recording fetcher: hosts allowed per provider,
// and a locator for each provider that hands a reference instead of a URL.
func (a *App) newRecordings(locators map[string]recordings.Locator) (*recordings.Store, error) {
	c, w := a.cfg.Recordings, a.cfg.Webhooks
	hosts := map[string][]string{
		"generic":  w.Generic.RecordingHosts,
		"zadarma":  w.Zadarma.RecordingHosts,
		"mango":    w.Mango.RecordingHosts,
		"gravitel": w.Gravitel.RecordingHosts,
	}
	if u, err := url.Parse(a.cfg.Asterisk.URL); err == nil && u.Hostname() != "" {
		hosts["asterisk"] = []string{u.Hostname()}
	}
	return recordings.New(recordings.Options{
		Dir:          filepath.Join(a.cfg.DataDir, "recordings"),
		Catalog:      a.db,
		Locators:     locators,
		AllowedHosts: hosts,
		AllowPrivate: c.AllowPrivate,
		Delay:        c.Delay,
		Workers:      c.Workers,
		MaxBytes:     int64(c.MaxBytes),
		Timeout:      c.Timeout,
		GiveUpAfter:  c.GiveUpAfter,
		Metrics:      recordings.NewMetrics(a.reg),
		Logger:       a.log.With("component", "recordings"),
	})
}

// compactCRM drops the events of long-pushed calls from the CRM outbox
// every interval (crmsync.Outbox.Compact).
func (a *App) compactCRM(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			n, err := a.crm.Compact(crmsync.DefaultRetention)
			if err != nil {
				a.log.Error("compact the CRM outbox", "err", err)
				continue
			}
			if n > 0 {
				a.log.Info("CRM outbox compacted", "calls", n)
			}
		}
	}
}

// newRecordingLinks signs public recording links with recordings.link_key,
// or with a key generated once and kept in the data directory.
func (a *App) newRecordingLinks() (*recordings.Links, error) {
	key := []byte(a.cfg.Recordings.LinkKey)
	if len(key) == 0 {
		var err error
		if key, err = recordings.LoadOrCreateLinkKey(filepath.Join(a.cfg.DataDir, "recording-link.key")); err != nil {
			return nil, err
		}
	}
	return recordings.NewLinks(key)
}

// publishingAppender appends to the spool and, once the events are durable,
// shows them on the live feed, as ingest.Handler does for webhooks.
type publishingAppender struct {
	spool *spool.Spool
	hub   *live.Hub
}

func (p publishingAppender) Append(ctx context.Context, payloads ...[]byte) (uint64, error) {
	seq, err := p.spool.Append(ctx, payloads...)
	if err != nil {
		return seq, err
	}
	events := make([]call.Event, 0, len(payloads))
	for _, b := range payloads {
		if e, err := call.Unmarshal(b); err == nil {
			events = append(events, e)
		}
	}
	p.hub.Publish(events)
	return seq, nil
}
