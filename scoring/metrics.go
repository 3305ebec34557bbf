package scoring

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Gauges export the threshold and the number of queued leads above it,
// refreshed from ClickHouse on an interval (never per scrape, so scrapes
// are cheap and cannot overload ClickHouse), and publish the call queue
// for the dashboards at the same interval (Scorer.Publish). They carry no
// labels: never a phone or a lead id.
type Gauges struct {
	scorer *Scorer
	log    *slog.Logger

	above       prometheus.Gauge
	threshold   prometheus.Gauge
	errors      prometheus.Counter
	lastRefresh prometheus.Gauge

	// publishAfter skips a publication when the newest one, by any
	// daemon, is younger than it (Run: half the interval); 0 publishes at
	// every refresh.
	publishAfter time.Duration
}

// NewGauges registers the scoring gauges on reg.
func NewGauges(reg prometheus.Registerer, scorer *Scorer, log *slog.Logger) *Gauges {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := promauto.With(reg)
	return &Gauges{
		scorer: scorer,
		log:    log,
		above: f.NewGauge(prometheus.GaugeOpts{
			Name: "callpulse_queue_leads_above_threshold",
			Help: "Open leads whose score is at or above the lead score threshold (the call queue by default).",
		}),
		threshold: f.NewGauge(prometheus.GaugeOpts{
			Name: "callpulse_lead_score_threshold",
			Help: "Lead score threshold: the average score of leads converted in the look-back window, or the configured fallback.",
		}),
		errors: f.NewCounter(prometheus.CounterOpts{
			Name: "callpulse_scoring_refresh_errors_total",
			Help: "Failed refreshes of the lead scoring gauges and the call queue published for the dashboards.",
		}),
		lastRefresh: f.NewGauge(prometheus.GaugeOpts{
			Name: "callpulse_scoring_last_refresh_timestamp_seconds",
			Help: "When the lead scoring gauges were last refreshed and the call queue for the dashboards last published (Unix time; 0 before the first).",
		}),
	}
}

// Run refreshes the gauges every interval until ctx is done. It returns nil
// when ctx is done; a failed refresh (or one that takes longer than the
// interval) is logged, counted and tried again at the next tick.
func (g *Gauges) Run(ctx context.Context, interval time.Duration) error {
	g.publishAfter = interval / 2
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, interval)
		err := g.Refresh(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			g.errors.Inc()
			g.log.Warn("refresh scoring gauges", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Refresh computes the threshold and counts the leads above it and
// publishes the queue (Scorer.Publish), all from one look at the book,
// unless another daemon sharing the ClickHouse published within
// publishAfter: then it only refreshes the gauges. On an error the gauges
// keep their previous values and the dashboards the previous queue.
func (g *Gauges) Refresh(ctx context.Context) error {
	publish := true
	if g.publishAfter > 0 {
		last, err := g.scorer.LastPublished(ctx)
		if err != nil {
			return err
		}
		publish = time.Since(last) >= g.publishAfter
	}
	if !publish {
		th, n, err := g.scorer.ThresholdAndAbove(ctx)
		if err != nil {
			return err
		}
		g.set(th, n)
		// The queue published last is young enough to count as this
		// refresh's.
		g.lastRefresh.SetToCurrentTime()
		return nil
	}
	asOf := g.scorer.now().UTC().Truncate(time.Second)
	q, n, err := g.scorer.queueAt(ctx, asOf, MaxQueueLimit, true, true)
	if err != nil {
		return err
	}
	g.set(q.Threshold, n)
	if err := g.scorer.publish(ctx, asOf, q); err != nil {
		return err
	}
	g.lastRefresh.SetToCurrentTime()
	return nil
}

// set sets the threshold and the count above it.
func (g *Gauges) set(th Threshold, above uint64) {
	g.threshold.Set(th.Value)
	g.above.Set(float64(above))
}
