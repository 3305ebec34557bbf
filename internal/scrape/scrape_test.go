package scrape

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lag_records", Help: "h"}, []string{"consumer", "a"}) // the page sorts labels
	total := prometheus.NewCounter(prometheus.CounterOpts{Name: "appended_total", Help: "h"})
	fsync := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fsync_seconds", Help: "h", Buckets: []float64{0.01, 0.1}})
	reg.MustRegister(lag, total, fsync)
	lag.WithLabelValues("clickhouse", `say "hi"`).Set(938)
	total.Add(12)
	fsync.Observe(0.05)
	fsync.Observe(0.2)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	got, err := Metrics(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`lag_records{a="say \"hi\"",consumer="clickhouse"}`: 938,
		"appended_total":                  12,
		"fsync_seconds_sum":               0.25,
		"fsync_seconds_count":             2,
		`fsync_seconds_bucket{le="0.01"}`: 0,
		`fsync_seconds_bucket{le="0.1"}`:  1,
		`fsync_seconds_bucket{le="+Inf"}`: 2,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (got %v)", k, got[k], v, got)
		}
	}

	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	if _, err := Metrics(context.Background(), notFound.URL); err == nil {
		t.Error("a 404 scraped without an error")
	}
}
