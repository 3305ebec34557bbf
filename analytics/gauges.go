package analytics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
)

// otherManager is the label for talk time of extensions not in the config,
// so that the label set stays bounded.
const otherManager = "other"

// Gauges are business metrics for today, refreshed from ClickHouse on an
// interval (never per scrape, so scrapes are cheap and cannot overload
// ClickHouse). Labels are configured manager ids, never names or phones.
type Gauges struct {
	store *Store
	team  *Team
	now   func() time.Time
	log   *slog.Logger

	talkSeconds *prometheus.GaugeVec
	talkShare   *prometheus.GaugeVec
	calls       *prometheus.GaugeVec
	lastRefresh prometheus.Gauge
	errors      prometheus.Counter
}

// NewGauges registers the business gauges on reg.
func NewGauges(reg prometheus.Registerer, store *Store, team *Team, log *slog.Logger) *Gauges {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := promauto.With(reg)
	g := &Gauges{
		store: store, team: team, now: time.Now, log: log,
		talkSeconds: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callpulse_talk_seconds",
			Help: "Talk time today (configured time zone) by manager and client category at call time.",
		}, []string{"manager", "category"}),
		talkShare: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callpulse_talk_share_ratio",
			Help: "Share of a manager's talk time today spent on each client category (0..1).",
		}, []string{"manager", "category"}),
		calls: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callpulse_calls",
			Help: "Calls started today (configured time zone) by final status.",
		}, []string{"status"}),
		lastRefresh: f.NewGauge(prometheus.GaugeOpts{
			Name: "callpulse_analytics_last_refresh_timestamp_seconds",
			Help: "When the business gauges were last refreshed from ClickHouse.",
		}),
		errors: f.NewCounter(prometheus.CounterOpts{
			Name: "callpulse_analytics_refresh_errors_total",
			Help: "Failed refreshes of the business gauges.",
		}),
	}
	for _, id := range append(team.IDs(), otherManager) {
		for _, c := range client.Categories() {
			g.talkSeconds.WithLabelValues(id, string(c))
			g.talkShare.WithLabelValues(id, string(c))
		}
	}
	for _, s := range call.Statuses() {
		g.calls.WithLabelValues(s.String())
	}
	return g
}

// SetClock replaces the clock that decides what "today" is (for tests).
func (g *Gauges) SetClock(now func() time.Time) { g.now = now }

// Run refreshes the gauges every interval until ctx is done. It returns nil
// when ctx is done; a failed refresh is logged, counted and tried again at
// the next tick.
func (g *Gauges) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := g.Refresh(ctx); err != nil && ctx.Err() == nil {
			g.errors.Inc()
			g.log.Warn("refresh business gauges", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Refresh reads today's numbers and sets every gauge.
func (g *Gauges) Refresh(ctx context.Context) error {
	today := Day(g.now(), g.store.Location())
	rows, err := g.store.TalkTime(ctx, today, nil)
	if err != nil {
		return err
	}
	statuses, err := g.store.CallsByStatus(ctx, today)
	if err != nil {
		return err
	}

	seconds := map[string]map[client.Category]float64{}
	for _, id := range append(g.team.IDs(), otherManager) {
		seconds[id] = map[client.Category]float64{}
	}
	for _, r := range rows {
		id := otherManager
		if m, ok := g.team.ByExtension(r.Extension); ok {
			id = m.ID
		}
		seconds[id][r.Category] += float64(r.Seconds)
	}
	for id, byCat := range seconds {
		var total float64
		for _, s := range byCat {
			total += s
		}
		for _, c := range client.Categories() {
			g.talkSeconds.WithLabelValues(id, string(c)).Set(byCat[c])
			share := 0.0
			if total > 0 {
				share = byCat[c] / total
			}
			g.talkShare.WithLabelValues(id, string(c)).Set(share)
		}
	}

	counts := map[string]float64{}
	for _, s := range statuses {
		counts[s.Status] = float64(s.Calls)
	}
	for _, s := range call.Statuses() {
		g.calls.WithLabelValues(s.String()).Set(counts[s.String()])
	}
	g.lastRefresh.SetToCurrentTime()
	return nil
}
