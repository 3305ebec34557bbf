package simulate

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBusyness(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want float64
	}{
		{time.Date(2026, 11, 20, 11, 30, 0, 0, moscow), 1},    // Friday morning
		{time.Date(2026, 11, 20, 13, 15, 0, 0, moscow), 0.55}, // lunch
		{time.Date(2026, 11, 20, 3, 0, 0, 0, moscow), 0.01},   // night
		{time.Date(2026, 11, 21, 11, 30, 0, 0, moscow), 0.2},  // Saturday
		// 08:30 UTC is 11:30 in Moscow: busyness goes by local time.
		{time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC).In(moscow), 1},
	} {
		if got := busyness(tc.at); got != tc.want {
			t.Errorf("busyness(%v) = %v, want %v", tc.at, got, tc.want)
		}
	}
}

func TestArrivals(t *testing.T) {
	const managers, rate = 5, 0.5
	live := time.Date(2026, 11, 23, 0, 0, 0, 0, moscow) // Monday midnight
	from := live.Add(-7 * 24 * time.Hour)
	a := newArrivals(rand.New(rand.NewPCG(1, 2)), moscow, managers, from, live, rate)

	var backfill, office int
	prev := from
	for {
		at := a.next()
		if at.Before(prev) {
			t.Fatalf("arrival %v before the previous one, %v", at, prev)
		}
		prev = at
		if !at.Before(live) {
			break
		}
		backfill++
		local := at.In(moscow)
		if wd := local.Weekday(); wd != time.Saturday && wd != time.Sunday && local.Hour() >= 9 && local.Hour() < 18 {
			office++
		}
	}
	// A working day is about 9 peak hours of 60 calls, a weekend day a fifth
	// of that: about 2950 calls.
	if backfill < 2500 || backfill > 3400 {
		t.Errorf("%d calls in a week of backfill for %d managers, want about 2950", backfill, managers)
	}
	if share := float64(office) / float64(backfill); share < 0.75 {
		t.Errorf("%.2f of backfill calls in office hours, want most", share)
	}

	// Live, calls come at the configured rate whatever the hour.
	const n = 5000
	start := prev
	for range n - 1 {
		prev = a.next()
	}
	if mean := prev.Sub(start).Seconds() / (n - 1); mean < 0.9/rate || mean > 1.1/rate {
		t.Errorf("mean live interval %.2f s, want about %.2f s", mean, 1/rate)
	}
}
