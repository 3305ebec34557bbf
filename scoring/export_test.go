package scoring

import (
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// BookServed says whether s's last queue, threshold or count above it was
// computed from its book (false: in SQL).
func BookServed(s *Scorer) bool {
	if s.book == nil {
		return false
	}
	s.book.turn <- struct{}{}
	defer func() { <-s.book.turn }()
	return s.book.served
}

// BookReads is the touch rows s's book has read from ClickHouse.
func BookReads(s *Scorer) int {
	s.book.turn <- struct{}{}
	defer func() { <-s.book.turn }()
	return s.book.reads
}

// SetPublishAfter sets how recent another publication must be for g's
// refresh to skip its own (Run sets half its interval).
func SetPublishAfter(g *Gauges, d time.Duration) { g.publishAfter = d }

// LastRefresh is g's callpulse_scoring_last_refresh_timestamp_seconds.
func LastRefresh(g *Gauges) float64 { return testutil.ToFloat64(g.lastRefresh) }
