package warehouse

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics of the ClickHouse store.
type Metrics struct {
	rowsWritten    *prometheus.CounterVec
	insertDuration prometheus.Histogram
	errors         *prometheus.CounterVec
	undecodable    prometheus.Counter
}

// NewMetrics registers the store's metrics on reg. A nil reg gives metrics
// that are counted but not exported (for tools and tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		rowsWritten: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_clickhouse_rows_written_total",
			Help: "Rows inserted into ClickHouse, by table.",
		}, []string{"table"}),
		insertDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "callpulse_clickhouse_insert_duration_seconds",
			Help:    "Time to send one insert batch to ClickHouse.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
		errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_clickhouse_errors_total",
			Help: "Failed ClickHouse operations, by operation (insert, query, migrate).",
		}, []string{"op"}),
		undecodable: f.NewCounter(prometheus.CounterOpts{
			Name: "callpulse_clickhouse_undecodable_records_total",
			Help: "Spool records the writer could not decode and skipped.",
		}),
	}
	for _, t := range []string{"call_events", "clients", "client_categories"} {
		m.rowsWritten.WithLabelValues(t)
	}
	for _, op := range []string{"insert", "query", "migrate"} {
		m.errors.WithLabelValues(op)
	}
	return m
}

// CountError counts a failed operation of another package on the store
// (e.g. an analytics query), so all ClickHouse errors show in one metric.
func (m *Metrics) CountError(op string) { m.errors.WithLabelValues(op).Inc() }
