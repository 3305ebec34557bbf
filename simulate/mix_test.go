package simulate

import (
	"slices"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
)

// checkTrafficMix checks the shape of the traffic in broad bounds.
func checkTrafficMix(t *testing.T, o Options, stats Stats, final map[string]seen) {
	t.Helper()
	known := make(map[string]bool, len(o.Clients))
	for _, c := range o.Clients {
		known[c.Phone] = true
	}
	type key struct {
		dir    call.Direction
		status call.Status
	}
	count := map[key]int{}
	var newLeads, recorded, answered int
	var talks []time.Duration
	for _, s := range final {
		count[key{s.Direction, s.Status}]++
		if !known[s.Client] {
			newLeads++
			checkMobile(t, s.Client)
		}
		if s.Status == call.StatusAnswered {
			answered++
			talks = append(talks, s.Ended.Sub(s.Answered))
			if ring := s.Answered.Sub(s.Started); ring < 3*time.Second || ring > 30*time.Second {
				t.Errorf("call %s rang for %v, want 3–30 s", s.CallID, ring)
			}
			if s.Recording != "" {
				recorded++
			}
		}
	}
	for _, k := range []key{
		{call.DirectionInbound, call.StatusAnswered}, {call.DirectionInbound, call.StatusMissed},
		{call.DirectionOutbound, call.StatusAnswered}, {call.DirectionOutbound, call.StatusCancelled},
		{call.DirectionOutbound, call.StatusBusy}, {call.DirectionOutbound, call.StatusFailed},
	} {
		if count[k] == 0 {
			t.Errorf("no %s %s calls", k.dir, k.status)
		}
	}
	slices.Sort(talks)
	inbound := count[key{call.DirectionInbound, call.StatusAnswered}] + count[key{call.DirectionInbound, call.StatusMissed}]
	n := float64(len(final))
	for _, tc := range []struct {
		what     string
		got      float64
		min, max float64
	}{
		{"inbound answered share", float64(count[key{call.DirectionInbound, call.StatusAnswered}]) / float64(inbound), 0.6, 0.8},
		{"new lead share", float64(newLeads) / n, 0.08, 0.25},
		{"recorded share of answered", float64(recorded) / float64(answered), 0.7, 0.9},
		{"called back share", float64(stats.Callbacks) / n, 0.03, 0.2},
		{"median talk, s", talks[len(talks)/2].Seconds(), 120, 260},
		{"longest talk, s", talks[len(talks)-1].Seconds(), 600, 1800},
	} {
		if tc.got < tc.min || tc.got > tc.max {
			t.Errorf("%s = %.2f, want %.2f–%.2f", tc.what, tc.got, tc.min, tc.max)
		}
	}

	// A called-back missed call is followed by an outbound call from the
	// same manager to the same number.
	returned := 0
	for _, m := range final {
		if m.Status != call.StatusMissed {
			continue
		}
		for _, c := range final {
			if c.Direction == call.DirectionOutbound && c.Client == m.Client && c.Manager == m.Manager && c.Started.After(m.Ended) {
				returned++
				break
			}
		}
	}
	if returned == 0 || int64(returned) < stats.Callbacks/2 {
		t.Errorf("%d missed calls were returned, stats.Callbacks = %d", returned, stats.Callbacks)
	}
}

func TestRunManagersSpread(t *testing.T) {
	// Two weeks of backfill are about 3500 calls for three managers, posted
	// mostly in batches.
	tr := newTestRun(t, 3000, func(o *Options) {
		o.Managers = []string{"101", "102", "103"}
		o.Clients = Clients(3, 600, o.Managers)
		o.Backfill = 14 * 24 * time.Hour
	})
	tr.run(t, t.Context())
	final := tr.fake.result().final(t)

	category := make(map[string]string, len(tr.opts.Clients))
	for _, c := range tr.opts.Clients {
		category[c.Phone] = importedCategory(c)
	}
	talk := map[string]map[string]time.Duration{} // manager → category → talk
	for _, s := range final {
		cat := category[s.Client]
		if s.Status != call.StatusAnswered || cat == "" {
			continue
		}
		if talk[s.Manager] == nil {
			talk[s.Manager] = map[string]time.Duration{}
		}
		talk[s.Manager][cat] += s.Ended.Sub(s.Answered)
	}
	share := func(manager, cat string) float64 {
		m := talk[manager]
		return float64(m[cat]) / float64(m["A"]+m["B"]+m["C"])
	}
	for _, m := range tr.opts.Managers {
		t.Logf("manager %s: A %.2f, B %.2f, C %.2f", m, share(m, "A"), share(m, "B"), share(m, "C"))
	}

	// Each habit shows where the director would look for it: the on-target
	// manager leads on A, the others on C and B respectively. Bounds are
	// loose because talk time is heavy-tailed.
	for _, tc := range []struct {
		manager, category string
		min, max          float64
	}{
		{"101", "A", 0.65, 0.92}, // on target: 80/19/1
		{"101", "C", 0, 0.05},
		{"102", "C", 0.20, 0.50}, // too much C: 45/20/35
		{"103", "B", 0.45, 0.80}, // too much B: 30/65/5
	} {
		got := share(tc.manager, tc.category)
		if got < tc.min || got > tc.max {
			t.Errorf("manager %s spends %.2f of A/B/C talk time on %s, want %.2f–%.2f", tc.manager, got, tc.category, tc.min, tc.max)
		}
		if tc.min == 0 {
			continue
		}
		for _, other := range tr.opts.Managers {
			if other != tc.manager && share(other, tc.category) >= got {
				t.Errorf("manager %s spends %.2f on %s, not less than manager %s's %.2f",
					other, share(other, tc.category), tc.category, tc.manager, got)
			}
		}
	}
}
