package crmsync

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the CRM pusher's Prometheus metrics, labelled by {crm} (the
// Pusher name) and, where it matters, {kind} (call, task, recording).
type Metrics struct {
	pushed    *prometheus.CounterVec
	retries   *prometheus.CounterVec
	dead      *prometheus.GaugeVec
	pending   *prometheus.GaugeVec
	gaveUp    *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	pulled    *prometheus.CounterVec
	pullFails *prometheus.CounterVec
}

// NewMetrics registers the metrics with reg; a nil reg counts without
// exporting.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		pushed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_crm_pushed_total",
			Help: "CRM requests that succeeded, by CRM and kind (call, task, recording).",
		}, []string{"crm", "kind"}),
		retries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_crm_retries_total",
			Help: "CRM requests that failed transiently and were rescheduled.",
		}, []string{"crm", "kind"}),
		dead: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callpulse_crm_dead_letters",
			Help: "CRM requests that failed permanently and wait in the dead-letter store.",
		}, []string{"crm"}),
		pending: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callpulse_crm_pending_jobs",
			Help: "CRM requests waiting in the outbox (including recording polls).",
		}, []string{"crm"}),
		gaveUp: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_crm_recordings_not_found_total",
			Help: "Pushed calls whose recording did not appear within the recording wait.",
		}, []string{"crm"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callpulse_crm_request_duration_seconds",
			Help:    "Duration of CRM requests, whatever their outcome.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 10),
		}, []string{"crm"}),
		pulled: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_crm_pulled_total",
			Help: "Clients and deals pulled from the CRM into the warehouse, by kind (client, deal).",
		}, []string{"crm", "kind"}),
		pullFails: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_crm_pull_failures_total",
			Help: "Scheduled CRM pulls that failed.",
		}, []string{"crm"}),
	}
}

// init pre-creates the label values of one CRM.
func (m *Metrics) initCRM(crm string) {
	for _, k := range []string{KindCall, KindTask, KindRecording, KindNotify, KindLead} {
		m.pushed.WithLabelValues(crm, k)
		m.retries.WithLabelValues(crm, k)
	}
	m.dead.WithLabelValues(crm)
	m.pending.WithLabelValues(crm)
	m.gaveUp.WithLabelValues(crm)
	m.duration.WithLabelValues(crm)
}
