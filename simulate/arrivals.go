package simulate

import (
	"math/rand/v2"
	"time"
)

// backfillPeakPerManager is how many calls a manager starts per hour at the
// busiest time of a working day while replaying the past.
const backfillPeakPerManager = 12

// hourWeights is how busy each local hour of a working day is, relative to
// the peak: the office opens at nine, slows down for lunch at one and goes
// home at six; a few calls come in early, late and at night.
var hourWeights = [24]float64{
	0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, // 00–07
	0.30, 0.85, 1.00, 1.00, 0.95, 0.55, 0.90, 1.00, // 08–15
	0.95, 0.80, 0.35, 0.15, 0.08, 0.04, 0.02, 0.01, // 16–23
}

// weekendFactor scales hourWeights on Saturdays and Sundays.
const weekendFactor = 0.2

// busyness returns how busy the sales team is at t, in [0, 1], judged by the
// local time of t's location.
func busyness(t time.Time) float64 {
	w := hourWeights[t.Hour()]
	if d := t.Weekday(); d == time.Saturday || d == time.Sunday {
		w *= weekendFactor
	}
	return w
}

// arrivals is the process that decides when fresh calls start: before live it
// is a Poisson process with busyness-weighted rate (by thinning), from live
// on a Poisson process at a constant rate.
type arrivals struct {
	rng  *rand.Rand
	loc  *time.Location
	peak float64   // calls per second at busyness 1, before live
	live time.Time // where the backfill ends and the constant rate begins
	rate float64   // calls per second from live on
	last time.Time // the previous arrival
}

// newArrivals returns arrivals starting at from, switching to rate calls per
// second at live.
func newArrivals(rng *rand.Rand, loc *time.Location, managers int, from, live time.Time, rate float64) *arrivals {
	return &arrivals{
		rng:  rng,
		loc:  loc,
		peak: float64(backfillPeakPerManager*managers) / time.Hour.Seconds(),
		live: live,
		rate: rate,
		last: from,
	}
}

// next returns the start of the next fresh call.
func (a *arrivals) next() time.Time {
	for a.last.Before(a.live) {
		t := a.last.Add(a.exp(a.peak))
		if !t.Before(a.live) {
			a.last = a.live // the process is memoryless: drop the overshoot
			break
		}
		a.last = t
		if a.rng.Float64() < busyness(t.In(a.loc)) {
			return t
		}
	}
	a.last = a.last.Add(a.exp(a.rate))
	return a.last
}

// exp returns an exponentially distributed interval with the given rate per
// second.
func (a *arrivals) exp(rate float64) time.Duration {
	return time.Duration(a.rng.ExpFloat64() / rate * float64(time.Second))
}
