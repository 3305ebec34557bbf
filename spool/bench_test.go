package spool

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkAppendParallel measures acknowledged webhook-sized (200-byte)
// appends from many concurrent callers, as HTTP handlers would issue them.
// Every record is fsynced before Append returns; group commit is what makes
// the throughput exceed one record per fsync (see records/fsync).
func BenchmarkAppendParallel(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry())
	s := openTest(b, Options{Metrics: m}, hooks{})
	rec := payload("webhook", 200)
	b.SetParallelism(32) // 32 × GOMAXPROCS concurrent Appends
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Append(context.Background(), rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if fsyncs := histogramCount(b, m.fsyncDuration); fsyncs > 0 {
		b.ReportMetric(float64(b.N)/float64(fsyncs), "records/fsync")
	}
}
