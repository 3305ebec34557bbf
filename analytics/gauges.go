package analytics

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
)

// Label values that keep the label sets bounded: otherManager for
// extensions (and stored managers) not in the config, unassignedManager for
// missed calls nobody owns, otherSource for ad sources beyond the cap.
const (
	otherManager      = "other"
	unassignedManager = "unassigned"
	otherSource       = "other"
)

// Defaults of GaugeOptions.
const (
	// DefaultMaxExtraSources is how many ad sources seen in the data, beyond
	// the configured ones, get a label of their own.
	DefaultMaxExtraSources = 20
	// DefaultRefreshTimeout bounds one refresh of the gauges.
	DefaultRefreshTimeout = 30 * time.Second
	// missedWindowDays is how far back the missed-call gauges look: today
	// and the 6 calendar days before it.
	missedWindowDays = 7
)

// GaugeOptions configures the gauges beyond talk time. The zero value is
// valid.
type GaugeOptions struct {
	// CallbackSLA is the time within which a missed call should be called
	// back; zero means DefaultCallbackSLA.
	CallbackSLA time.Duration
	// Sources are the configured ad sources (those of lines[]): they always
	// have series, 0 when they bring no leads.
	Sources []string
	// MaxExtraSources caps the other sources seen in the data that get a
	// label of their own, admitted in order of this month's leads and kept
	// from then on; leads of further sources are summed under "other" (as
	// are those of a source that is itself named "other"). Zero means
	// DefaultMaxExtraSources; negative means none.
	MaxExtraSources int
	// Timeout bounds one refresh, all its queries together; zero means
	// DefaultRefreshTimeout.
	Timeout time.Duration
}

// Gauges are business metrics — talk time and calls today, open missed
// calls of the last 7 days, leads today and this month — refreshed from
// ClickHouse on an interval (never per scrape, so scrapes are cheap and
// cannot overload ClickHouse). Labels are configured manager ids and ad
// sources, bounded as described at GaugeOptions; never names or phones.
type Gauges struct {
	store   *Store
	team    *Team
	now     func() time.Time
	timeout time.Duration // of one refresh
	log     *slog.Logger

	sla         time.Duration
	maxExtra    int
	mu          sync.Mutex          // guards sourceLabel and extra
	sourceLabel map[string]struct{} // sources with a label of their own
	extra       int                 // how many of them came from the data

	talkSeconds *prometheus.GaugeVec
	talkShare   *prometheus.GaugeVec
	calls       *prometheus.GaugeVec
	missedOpen  *prometheus.GaugeVec
	missedPast  *prometheus.GaugeVec
	leads       *prometheus.GaugeVec
	leadsWon    *prometheus.GaugeVec
	lastRefresh prometheus.Gauge
	errors      prometheus.Counter
}

// leadPeriods are the values of the period label of the lead gauges.
var leadPeriods = []string{"today", "month"}

// NewGauges registers the business gauges on reg with the zero
// GaugeOptions: the default callback SLA and no configured sources.
func NewGauges(reg prometheus.Registerer, store *Store, team *Team, log *slog.Logger) *Gauges {
	return NewGaugesWithOptions(reg, store, team, GaugeOptions{}, log)
}

// NewGaugesWithOptions registers the business gauges on reg.
func NewGaugesWithOptions(reg prometheus.Registerer, store *Store, team *Team, opts GaugeOptions, log *slog.Logger) *Gauges {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.CallbackSLA <= 0 {
		opts.CallbackSLA = DefaultCallbackSLA
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRefreshTimeout
	}
	switch {
	case opts.MaxExtraSources == 0:
		opts.MaxExtraSources = DefaultMaxExtraSources
	case opts.MaxExtraSources < 0:
		opts.MaxExtraSources = 0
	}
	f := promauto.With(reg)
	g := &Gauges{
		store: store, team: team, now: time.Now, log: log, timeout: opts.Timeout,
		sla: opts.CallbackSLA, maxExtra: opts.MaxExtraSources, sourceLabel: map[string]struct{}{otherSource: {}},
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
		missedOpen: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callpulse_missed_calls_open",
			Help: "Missed calls of the last 7 days (today included) not called back yet, by the client's owner.",
		}, []string{"manager"}),
		missedPast: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callpulse_missed_calls_past_sla",
			Help: "Open missed calls of the last 7 days whose callback SLA has run out, by the client's owner.",
		}, []string{"manager"}),
		leads: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callpulse_leads",
			Help: "New leads (first contact ever) today or this month so far, by ad source.",
		}, []string{"source", "period"}),
		leadsWon: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callpulse_leads_won",
			Help: "Leads of today or of this month with a won deal (so far), by ad source.",
		}, []string{"source", "period"}),
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
	for _, id := range g.missedLabels() {
		g.missedOpen.WithLabelValues(id)
		g.missedPast.WithLabelValues(id)
	}
	for _, src := range append(opts.Sources, otherSource) {
		if src != "" {
			g.admitSource(src)
		}
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
		rctx, cancel := context.WithTimeout(ctx, g.timeout)
		err := g.Refresh(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
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

// Refresh reads today's numbers and sets every gauge. The families of
// gauges refresh one after the other, cheapest first, each set only after
// its own queries succeeded: one that fails (a query over the deadline on a
// large store) keeps its previous values and does not hold back the
// others. The last-refresh timestamp moves only when all succeeded.
func (g *Gauges) Refresh(ctx context.Context) error {
	today := Day(g.now(), g.store.Location())
	err := errors.Join(
		g.refreshTalk(ctx, today),
		g.refreshCalls(ctx, today),
		g.refreshLeads(ctx, today),
		g.refreshMissed(ctx, today),
	)
	if err == nil {
		g.lastRefresh.SetToCurrentTime()
	}
	return err
}

// refreshTalk sets today's talk seconds and shares by manager and category.
func (g *Gauges) refreshTalk(ctx context.Context, today Period) error {
	rows, err := g.store.TalkTime(ctx, today, nil)
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
	return nil
}

// refreshCalls sets today's calls by final status.
func (g *Gauges) refreshCalls(ctx context.Context, today Period) error {
	statuses, err := g.store.CallsByStatus(ctx, today)
	if err != nil {
		return err
	}
	counts := map[string]float64{}
	for _, s := range statuses {
		counts[s.Status] = float64(s.Calls)
	}
	for _, s := range call.Statuses() {
		g.calls.WithLabelValues(s.String()).Set(counts[s.String()])
	}
	return nil
}
