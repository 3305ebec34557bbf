package ingest

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics of webhook ingest, shared by all providers.
type Metrics struct {
	requests *prometheus.CounterVec
	events   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers ingest metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_ingest_requests_total",
			Help: "Webhook requests by provider and HTTP status code.",
		}, []string{"provider", "code"}),
		events: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_ingest_events_total",
			Help: "Call events made durable on the spool, by provider.",
		}, []string{"provider"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callpulse_ingest_request_duration_seconds",
			Help:    "Webhook request handling time, including the spool fsync.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2.5, 12),
		}, []string{"provider"}),
	}
}

// register pre-creates a provider's label values so dashboards show zeros.
func (m *Metrics) register(provider string) {
	for _, code := range []int{http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized,
		http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable} {
		m.requests.WithLabelValues(provider, strconv.Itoa(code))
	}
	m.events.WithLabelValues(provider)
	m.duration.WithLabelValues(provider)
}
