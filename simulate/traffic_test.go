package simulate

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
)

func TestGeneratorPlansConsistentCalls(t *testing.T) {
	managers := []string{"101", "102", "103"}
	lines := []string{"+74951112233", "+74951112244"}
	o := Options{Managers: managers, Lines: lines, Clients: Clients(1, 200, managers), Location: moscow}
	g := newGenerator(rand.New(rand.NewPCG(1, 1)), o, "run")

	allowed := map[call.Direction][]call.Status{
		call.DirectionInbound:  {call.StatusAnswered, call.StatusMissed},
		call.DirectionOutbound: {call.StatusAnswered, call.StatusCancelled, call.StatusBusy, call.StatusFailed},
	}
	ids := map[string]bool{}
	lineOf := map[string]string{}
	var talks []time.Duration
	var callbacks, callbacksAnswered int
	check := func(c plannedCall) {
		t.Helper()
		if ids[c.id] || !strings.HasPrefix(c.id, "run-") {
			t.Fatalf("call id %q repeated or without the run prefix", c.id)
		}
		ids[c.id] = true
		if !slices.Contains(allowed[c.direction], c.status) {
			t.Fatalf("%s call %s", c.direction, c.status)
		}
		if l, ok := lineOf[c.client]; ok && l != c.line {
			t.Fatalf("client on lines %s and %s", l, c.line)
		}
		lineOf[c.client] = c.line
		if c.started.Location() != moscow || c.started.Nanosecond() != 0 {
			t.Fatalf("started %v: want whole seconds in %v", c.started, moscow)
		}
		if c.status == call.StatusAnswered {
			if ring := c.answered.Sub(c.started); ring < 3*time.Second || ring > 30*time.Second {
				t.Fatalf("rang for %v, want 3–30 s", ring)
			}
			talks = append(talks, c.talk())
		} else if !c.answered.IsZero() || c.recording != "" || c.late != 0 {
			t.Fatalf("%s call answered at %v with recording %q, late %v", c.status, c.answered, c.recording, c.late)
		}
		if c.ended.Before(c.started) || c.ended.Sub(c.started) > 31*time.Minute {
			t.Fatalf("call from %v to %v", c.started, c.ended)
		}
	}

	at := testStart
	for range 20000 {
		at = at.Add(time.Minute)
		c := g.arrival(at)
		check(c)
		if back, ok := g.callbackAt(c); ok {
			if c.status != call.StatusMissed || !back.After(c.ended) {
				t.Fatalf("call back at %v of a %s call that ended at %v", back, c.status, c.ended)
			}
			b := g.callBack(c, back)
			check(b)
			if b.direction != call.DirectionOutbound || b.client != c.client || b.manager != c.manager {
				t.Fatalf("call back %s to another client or from another manager", b.direction)
			}
			callbacks++
			if b.status == call.StatusAnswered {
				callbacksAnswered++
			}
		}
	}

	slices.Sort(talks)
	quantile := func(q float64) time.Duration { return talks[int(q*float64(len(talks)-1))] }
	for _, tc := range []struct {
		what     string
		got      time.Duration
		min, max time.Duration
	}{
		{"shortest talk", quantile(0), 5 * time.Second, time.Minute},
		{"median talk", quantile(0.5), 160 * time.Second, 200 * time.Second},
		{"99th percentile talk", quantile(0.99), 10 * time.Minute, 25 * time.Minute},
		{"longest talk", quantile(1), 20 * time.Minute, 30 * time.Minute},
	} {
		if tc.got < tc.min || tc.got > tc.max {
			t.Errorf("%s = %v, want %v–%v", tc.what, tc.got, tc.min, tc.max)
		}
	}
	if share := float64(callbacksAnswered) / float64(callbacks); callbacks == 0 || share < 0.7 {
		t.Errorf("%d of %d call-backs answered, want most", callbacksAnswered, callbacks)
	}
}
