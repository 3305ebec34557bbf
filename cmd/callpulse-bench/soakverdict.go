package main

import (
	"fmt"
	"slices"
	"strings"
)

// soakSeries is one quantity the soak judges, and how far its floor may
// rise from the second quarter of the run to the last: a factor and a
// constant.
type soakSeries struct {
	name, unit string
	value      func(procStats) float64
	factor     float64
	slack      float64
}

// soakJudged are the quantities a leak grows: heap objects kept reachable
// (live heap, and with it RssAnon), memory-mapped files that keep growing
// (RssFile: the recordings job store leaked that way), goroutines and open
// files, these two besides those of the daemon's HTTP connections, which
// are the load generator's. VmRSS is the sum of RssAnon and RssFile and is
// shown, not judged on its own.
var soakJudged = []soakSeries{
	{"live heap", "MiB", func(s procStats) float64 { return mib(s.heapLive) }, 1.2, 4},
	{"RssAnon", "MiB", func(s procStats) float64 { return kib(s.anonKB) }, 1.2, 8},
	{"RssFile", "MiB", func(s procStats) float64 { return kib(s.fileKB) }, 1.2, 4},
	{"goroutines", "", func(s procStats) float64 { return s.goroutines - s.httpGoroutines }, 1.1, 5},
	{"fds", "", func(s procStats) float64 { return float64(s.fds - s.httpConns) }, 1, 5},
}

// verdict is the outcome of a soak: flat, and one line per judged series.
type verdict struct {
	flat  bool
	lines []string
}

func (v verdict) String() string {
	word := "FLAT"
	if !v.flat {
		word = "GROWING"
	}
	return strings.Join(v.lines, "\n") + "\nverdict (floors): " + word
}

// soakVerdict judges samples taken at regular intervals by their floors: the
// lowest value of each quantity in the second quarter of the run against
// the lowest in the last quarter (the first quarter is warm-up: buffers,
// connection pools and caches filling, the GC finding its heap size).
//
// What a leak holds, it holds at every sample, so a leak raises the floor
// by what it gathered in between. Work in flight — the writer's batch, a
// rollup refresh reading its changes, the load generator's connections and
// their goroutines — raises some samples and not others, and moves peaks
// and averages but not the floor. A cache filling to its cap raises the
// floor until it is full, so it passes once full before the second quarter.
// Peaks are printed beside the floors: they are what memory must be sized
// for.
func soakVerdict(samples []procStats) verdict {
	q := len(samples) / 4
	early, late := samples[q:2*q], samples[3*q:]
	v := verdict{flat: true}
	v.lines = append(v.lines, fmt.Sprintf("floors (and peaks): second quarter (%s–%s) → last quarter (%s–%s)",
		early[0].at, early[len(early)-1].at, late[0].at, late[len(late)-1].at))
	for _, js := range soakJudged {
		lo0, hi0 := bounds(early, js.value)
		lo1, hi1 := bounds(late, js.value)
		limit := js.factor*lo0 + js.slack
		ok := lo1 <= limit
		v.flat = v.flat && ok
		mark := "flat"
		if !ok {
			mark = "GROWING"
		}
		v.lines = append(v.lines, fmt.Sprintf("  %-10s %7.1f → %7.1f %-3s (limit %7.1f; peaks %7.1f → %7.1f) %s",
			js.name, lo0, lo1, js.unit, limit, hi0, hi1, mark))
	}
	return v
}

// bounds is the lowest and highest value over samples.
func bounds(samples []procStats, value func(procStats) float64) (lo, hi float64) {
	vs := make([]float64, len(samples))
	for i, s := range samples {
		vs[i] = value(s)
	}
	return slices.Min(vs), slices.Max(vs)
}
