package report

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Results of one message to one recipient, the values of the result label.
const (
	ResultSent    = "sent"    // the SMTP server accepted it
	ResultFailed  = "failed"  // building or sending failed; nothing was recorded as sent
	ResultSkipped = "skipped" // already sent, or being sent by another replica
)

// Metrics of the report sender.
type Metrics struct {
	sent        *prometheus.CounterVec
	lastSuccess prometheus.Gauge
	retries     prometheus.Counter

	mu   sync.Mutex
	last float64 // the gauge's value
}

// NewMetrics registers the report metrics on reg. A nil reg gives metrics
// that are counted but not exported (for the CLI and tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		sent: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_report_sent_total",
			Help: "Report e-mails by result: sent, failed, or skipped (already sent, or claimed by another replica).",
		}, []string{"result"}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Name: "callpulse_report_last_success_timestamp_seconds",
			Help: "When a report e-mail was last accepted by the SMTP server, by any replica (read from ClickHouse at start).",
		}),
		retries: f.NewCounter(prometheus.CounterOpts{
			Name: "callpulse_report_smtp_retries_total",
			Help: "SMTP attempts retried after a transient error (4xx reply, timeout, dropped connection).",
		}),
	}
	for _, r := range []string{ResultSent, ResultFailed, ResultSkipped} {
		m.sent.WithLabelValues(r)
	}
	return m
}

func (m *Metrics) count(result string) { m.sent.WithLabelValues(result).Inc() }

// succeeded records a delivery at t, never moving the gauge backwards.
func (m *Metrics) succeeded(t time.Time) {
	if t.IsZero() {
		return
	}
	v := float64(t.UnixNano()) / 1e9
	m.mu.Lock()
	defer m.mu.Unlock()
	if v > m.last {
		m.last = v
		m.lastSuccess.Set(v)
	}
}
