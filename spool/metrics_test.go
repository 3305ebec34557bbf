package spool

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func gaugeValue(t testing.TB, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

func histogramCount(t testing.TB, h prometheus.Histogram) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

func TestMetricsTrackStateAndLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	s := openTest(t, Options{SegmentBytes: 64, Metrics: m}, hooks{})
	r := mustReader(t, s, "warehouse")
	for range 5 {
		mustAppend(t, s, payload("m", 40))
	}
	drain(t, r)
	if err := r.Commit(3); err != nil {
		t.Fatal(err)
	}
	consume(t, s, "crm") // exercises the consumer metrics

	st := s.Stats()
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"bytes", gaugeValue(t, m.bytes), float64(st.Bytes)},
		{"segments", gaugeValue(t, m.segments), float64(st.Segments)},
		{"appended records", counterValue(t, m.appendedRecords), 5},
		{"lag warehouse", gaugeValue(t, m.cursorLag.WithLabelValues("warehouse")), 2},
		{"lag crm", gaugeValue(t, m.cursorLag.WithLabelValues("crm")), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if len(mfs) != 10 {
		t.Errorf("gathered %d metric families, want all 10 to be exposed", len(mfs))
	}
}

// consume runs Consume for name until it has delivered everything durable
// now, then stops it.
func consume(t testing.TB, s *Spool, name string) {
	t.Helper()
	r := mustReader(t, s, name)
	last := s.Stats().LastSeq
	ctx, cancel := context.WithCancel(context.Background())
	sink := sinkFunc(func(_ context.Context, recs []Record) error {
		if recs[len(recs)-1].Seq == last {
			cancel() // the final flush is not needed: this write succeeds
		}
		return nil
	})
	if err := Consume(ctx, r, sink, ConsumeOptions{MaxBatch: 2, After: immediately}); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	if r.Committed() != last {
		t.Fatalf("consumer %s committed %d, want %d", name, r.Committed(), last)
	}
}

type sinkFunc func(context.Context, []Record) error

func (f sinkFunc) Write(ctx context.Context, recs []Record) error { return f(ctx, recs) }

// immediately is a ConsumeOptions.After whose timers have already fired.
func immediately(time.Duration) <-chan time.Time {
	c := make(chan time.Time, 1)
	c <- time.Time{}
	return c
}
