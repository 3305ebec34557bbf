package spool

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Values of the reason label of callpulse_spool_append_errors_total.
const (
	reasonFull   = "full"   // over MaxBytes, or out of disk space or quota
	reasonIO     = "io"     // write, fsync or segment creation failed, or the spool is broken
	reasonClosed = "closed" // Append after Close
)

// Metrics are the spool's Prometheus metrics. One Metrics serves one Spool
// (and the Consume loops reading it). A nil *Metrics records nothing.
type Metrics struct {
	bytes           prometheus.Gauge
	maxBytes        prometheus.Gauge
	segments        prometheus.Gauge
	appendedRecords prometheus.Counter
	appendBatches   prometheus.Counter
	fsyncDuration   prometheus.Histogram
	appendErrors    *prometheus.CounterVec
	cursorLag       *prometheus.GaugeVec
	consumerErrors  *prometheus.CounterVec
	consumerBatch   *prometheus.HistogramVec
}

// NewMetrics creates the spool metrics and registers them with reg (never
// the global registry). It panics if they are already registered there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		bytes: f.NewGauge(prometheus.GaugeOpts{
			Name: "callpulse_spool_bytes",
			Help: "On-disk size of all spool segments in bytes.",
		}),
		maxBytes: f.NewGauge(prometheus.GaugeOpts{
			Name: "callpulse_spool_max_bytes",
			Help: "Limit on callpulse_spool_bytes beyond which Append refuses records (Options.MaxBytes); 0 means unlimited.",
		}),
		segments: f.NewGauge(prometheus.GaugeOpts{
			Name: "callpulse_spool_segments",
			Help: "Number of spool segment files, including the active one.",
		}),
		appendedRecords: f.NewCounter(prometheus.CounterOpts{
			Name: "callpulse_spool_appended_records_total",
			Help: "Records made durable by Append.",
		}),
		appendBatches: f.NewCounter(prometheus.CounterOpts{
			Name: "callpulse_spool_append_batches_total",
			Help: "Group commits: single write+fsync rounds that made one or more Append calls durable.",
		}),
		fsyncDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "callpulse_spool_fsync_duration_seconds",
			Help:    "Time spent in fsync of the active segment per group commit.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		appendErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_spool_append_errors_total",
			Help: "Append calls that failed, by reason: full (over the size limit or out of disk space), io, closed.",
		}, []string{"reason"}),
		cursorLag: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callpulse_spool_cursor_lag_records",
			Help: "Durable records a consumer has not committed yet.",
		}, []string{"consumer"}),
		consumerErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_spool_consumer_errors_total",
			Help: "Failed sink writes and cursor commits in a consumer loop; failed batches are retried.",
		}, []string{"consumer"}),
		consumerBatch: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callpulse_spool_consumer_batch_records",
			Help:    "Records per batch a consumer delivered to its sink.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 … 16384
		}, []string{"consumer"}),
	}
	for _, reason := range []string{reasonFull, reasonIO, reasonClosed} {
		m.appendErrors.WithLabelValues(reason)
	}
	return m
}

func (m *Metrics) setSize(bytes int64, segments int) {
	if m == nil {
		return
	}
	m.bytes.Set(float64(bytes))
	m.segments.Set(float64(segments))
}

func (m *Metrics) batchCommitted(records uint64) {
	if m == nil {
		return
	}
	m.appendBatches.Inc()
	m.appendedRecords.Add(float64(records))
}

func (m *Metrics) observeFsync(d time.Duration) {
	if m == nil {
		return
	}
	m.fsyncDuration.Observe(d.Seconds())
}

func (m *Metrics) appendFailed(reason string) {
	if m == nil {
		return
	}
	m.appendErrors.WithLabelValues(reason).Inc()
}

// setLag sets the lag of every consumer given the last durable seq. The
// caller holds Spool.mu, which guards consumers.
func (m *Metrics) setLag(last uint64, consumers map[string]*consumer) {
	if m == nil {
		return
	}
	for name, c := range consumers {
		m.cursorLag.WithLabelValues(name).Set(float64(last - c.cursor))
	}
}

// addConsumer creates the consumer's series so they are exported from the
// start.
func (m *Metrics) addConsumer(name string, lag uint64) {
	if m == nil {
		return
	}
	m.cursorLag.WithLabelValues(name).Set(float64(lag))
	m.consumerErrors.WithLabelValues(name)
}

func (m *Metrics) setConsumerLag(name string, lag uint64) {
	if m == nil {
		return
	}
	m.cursorLag.WithLabelValues(name).Set(float64(lag))
}

func (m *Metrics) forgetConsumer(name string) {
	if m == nil {
		return
	}
	m.cursorLag.DeleteLabelValues(name)
	m.consumerErrors.DeleteLabelValues(name)
	m.consumerBatch.DeleteLabelValues(name)
}

func (m *Metrics) consumerFailed(name string) {
	if m == nil {
		return
	}
	m.consumerErrors.WithLabelValues(name).Inc()
}

func (m *Metrics) batchDelivered(name string, records int) {
	if m == nil {
		return
	}
	m.consumerBatch.WithLabelValues(name).Observe(float64(records))
}

// setMaxBytes exports the configured size limit (0 = unlimited).
func (m *Metrics) setMaxBytes(n int64) {
	if m == nil {
		return
	}
	m.maxBytes.Set(float64(n))
}
