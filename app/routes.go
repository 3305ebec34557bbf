package app

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/callpulse/callpulse/api"
	"github.com/callpulse/callpulse/ingest"
	"github.com/callpulse/callpulse/live"
	"github.com/callpulse/callpulse/scoring"
)

// routes builds the HTTP mux: webhooks, API, metrics and health.
func (a *App) routes() (*http.ServeMux, error) {
	mux := http.NewServeMux()
	im := ingest.NewMetrics(a.reg)
	for _, p := range a.webhookProviders {
		h := ingest.NewHandler(p, a.spool, ingest.HandlerOptions{
			MaxBody: int64(a.cfg.Webhooks.MaxBodyBytes), Metrics: im, Publish: a.hub.Publish,
			Logger: a.log.With("component", "ingest"),
		})
		mux.Handle("POST /webhooks/"+p.Name(), h)
		mux.Handle("POST /webhooks/"+p.Name()+"/", h)
		if g, ok := p.(ingest.GetHandler); ok {
			mux.HandleFunc("GET /webhooks/"+p.Name(), g.ServeGET)
		}
	}

	apiServer := api.NewServer(string(a.cfg.API.Token), a.store, a.team(), a.targets(),
		a.cfg.ClickHouse.QueryTimeout, a.log.With("component", "api"))
	apiServer.CallbackSLA = a.cfg.Analytics.CallbackSLA
	apiServer.Register(mux)
	sh, err := scoring.NewHandler(scoring.HandlerOptions{
		Scorer: a.scorer, Store: a.db, Normalizer: a.norm, Team: a.team(),
		MaxBody: int64(a.cfg.Webhooks.MaxBodyBytes), Timeout: a.cfg.ClickHouse.QueryTimeout,
		Registerer: a.reg, Logger: a.log.With("component", "scoring"),
	})
	if err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}
	for _, r := range sh.Routes() {
		apiServer.Handle(mux, r.Pattern, r.Handler)
	}
	apiServer.HandleWebSocket(mux, "GET /api/v1/live", a.hub.Handler(a.log.With("component", "live")))
	apiServer.Handle(mux, "GET /api/v1/recordings/", a.recordings.Handler())
	// Signed links for CRM cards, outside the token check.
	mux.Handle("GET /recordings/", a.recordings.PublicHandler(a.recordingLinks))

	var metrics http.Handler = promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg})
	if t := a.cfg.Metrics.Token; t != "" {
		metrics = api.RequireToken(string(t), metrics)
	}
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	return mux, nil
}

// readiness tracks start-up steps that /readyz reports.
type readiness struct{ migrated atomic.Bool }

func (r *readiness) setMigrated() { r.migrated.Store(true) }

// readyz answers 200 when the spool is healthy and ClickHouse is reachable
// and migrated, else 503 with the reasons. Webhooks are accepted either way
// while the spool is healthy.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	var problems []string
	if err := a.spool.Healthy(); err != nil {
		problems = append(problems, "spool: "+err.Error())
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if !a.ready.migrated.Load() {
		problems = append(problems, "clickhouse: migrations not applied yet (is it reachable?)")
	} else if err := a.db.Ping(ctx); err != nil {
		problems = append(problems, "clickhouse: unreachable")
	}
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, p := range problems {
			_, _ = w.Write([]byte(p + "\n"))
		}
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// newHub builds the live feed, counting dropped wallboards.
func (a *App) newHub() *live.Hub {
	dropped := promauto.With(a.reg).NewCounter(prometheus.CounterOpts{
		Name: "callpulse_live_dropped_subscribers_total",
		Help: "Live feed subscribers dropped for reading too slowly.",
	})
	team := a.team()
	return live.NewHub(live.Options{
		Buffer:     a.cfg.Live.Buffer,
		ShowPhones: a.cfg.Live.ShowPhones,
		ManagerID:  func(ext string) string { m, _ := team.ByExtension(ext); return m.ID },
		OnDrop:     dropped.Inc,
	})
}
