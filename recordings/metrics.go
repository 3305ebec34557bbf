package recordings

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Reasons a job fails permanently (the reason label of
// callpulse_recordings_failed_total, and deadJob.Reason).
const (
	ReasonGaveUp      = "gave_up"      // still not ready or failing after Options.GiveUpAfter
	ReasonTooLarge    = "too_large"    // larger than Options.MaxBytes
	ReasonContentType = "content_type" // not audio/* or application/octet-stream
	ReasonHTTPStatus  = "http_status"  // a 4xx other than 404, 408, 425, 429; other non-200 codes; redirect loops
	ReasonRefused     = "refused"      // the SSRF guard refused the scheme, host or address
	ReasonLocator     = "locator"      // no Locator and no URL, or the Locator said ErrPermanent
)

var failReasons = []string{ReasonGaveUp, ReasonTooLarge, ReasonContentType, ReasonHTTPStatus, ReasonRefused, ReasonLocator}

// Reasons an attempt is retried (the reason label of
// callpulse_recordings_retries_total).
const (
	retryNotReady  = "not_ready" // 404, 425, 202, 204, empty body, or the Locator's ErrNotReady
	retryTransient = "transient" // 5xx, 408, 429, network errors, timeouts, catalog errors
)

// Metrics of the recording fetcher.
type Metrics struct {
	skipped  prometheus.Counter
	fetched  prometheus.Counter
	failed   *prometheus.CounterVec
	retries  *prometheus.CounterVec
	pending  prometheus.Gauge
	dead     prometheus.Gauge
	bytes    prometheus.Counter
	duration prometheus.Histogram
}

// NewMetrics registers the fetcher's metrics on reg. A nil reg gives metrics
// that are counted but not exported.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		skipped: f.NewCounter(prometheus.CounterOpts{
			Name: "callpulse_recordings_skipped_total",
			Help: "Recording URLs not queued because their scheme or host is not allowed for the provider (recording_hosts).",
		}),
		fetched: f.NewCounter(prometheus.CounterOpts{
			Name: "callpulse_recordings_fetched_total",
			Help: "Recordings downloaded and stored.",
		}),
		failed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_recordings_failed_total",
			Help: "Recording jobs that failed permanently and were kept as dead jobs, by reason.",
		}, []string{"reason"}),
		retries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_recordings_retries_total",
			Help: "Fetch attempts that will be retried, by reason (not_ready, transient).",
		}, []string{"reason"}),
		pending: f.NewGauge(prometheus.GaugeOpts{
			Name: "callpulse_recordings_pending_jobs",
			Help: "Recording jobs waiting to be fetched or retried.",
		}),
		dead: f.NewGauge(prometheus.GaugeOpts{
			Name: "callpulse_recordings_dead_jobs",
			Help: "Recording jobs that failed permanently and are kept for inspection.",
		}),
		bytes: f.NewCounter(prometheus.CounterOpts{
			Name: "callpulse_recordings_bytes_total",
			Help: "Bytes of recordings downloaded and stored.",
		}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "callpulse_recordings_fetch_duration_seconds",
			Help:    "Time of one fetch attempt: locate, download and store, whatever its outcome.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 10),
		}),
	}
	for _, r := range failReasons {
		m.failed.WithLabelValues(r)
	}
	for _, r := range []string{retryNotReady, retryTransient} {
		m.retries.WithLabelValues(r)
	}
	return m
}
