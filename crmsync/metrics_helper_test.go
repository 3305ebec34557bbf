package crmsync_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// sumCollector exposes the sum of all series of one metric as a gauge, for
// testutil.ToFloat64.
type sumCollector struct {
	r    *rig
	name string
	t    *testing.T
}

var sumDesc = prometheus.NewDesc("sum", "sum of a metric's series", nil, nil)

func (s *sumCollector) Describe(ch chan<- *prometheus.Desc) { ch <- sumDesc }

func (s *sumCollector) Collect(ch chan<- prometheus.Metric) {
	mfs, err := s.r.reg.Gather()
	if err != nil {
		s.t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != s.name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	ch <- prometheus.MustNewConstMetric(sumDesc, prometheus.GaugeValue, sum)
}
