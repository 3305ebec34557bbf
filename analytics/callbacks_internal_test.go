package analytics

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestCallbackMatcher holds the streaming match of missed calls to the
// answered calls of their phones (callbacksNow) to the rules applied one
// missed call at a time, on random calls: phones that are prefixes of one
// another, phones with no answered call before, between and after the
// others, answered calls in a missed call's own second, ties of managers.
func TestCallbackMatcher(t *testing.T) {
	phones := []string{"+7", "+70", "+700", "+7001", "+71", "+8", "+9\xff"}
	managers := []string{"", "101", "103"}
	t0 := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	at := func(rng *rand.Rand) time.Time { return t0.Add(time.Duration(rng.IntN(40)) * time.Second) }
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var calls []missedCall
		ownerless := map[string]bool{}
		for range rng.IntN(12) {
			c := missedCall{MissedCall: MissedCall{ClientPhone: phones[rng.IntN(len(phones))], At: at(rng)}}
			calls = append(calls, c)
			if rng.IntN(2) == 0 {
				ownerless[c.ClientPhone] = true
			}
		}
		type answered struct {
			phone string
			answeredCall
		}
		var stream []answered
		for range rng.IntN(15) {
			stream = append(stream, answered{phones[rng.IntN(len(phones))], answeredCall{at(rng), managers[rng.IntN(len(managers))]}})
		}
		slices.SortFunc(stream, func(a, b answered) int {
			return cmp.Or(cmp.Compare(a.phone, b.phone), a.at.Compare(b.at), cmp.Compare(a.manager, b.manager))
		})

		got := make([]callback, len(calls))
		m := newCallbackMatcher(calls, got, ownerless)
		for _, a := range stream {
			if err := m.add(a.phone, a.answeredCall); err != nil {
				t.Fatal(err)
			}
		}
		m.flush("")

		for i, c := range calls {
			var want callback
			var owner answeredCall
			for _, a := range stream {
				if a.phone != c.ClientPhone {
					continue
				}
				if a.at.After(c.At) && (want.at.IsZero() || a.at.Before(want.at)) {
					want.at = a.at
				}
				if a.at.Before(c.At) && a.manager != "" &&
					(a.at.After(owner.at) || a.at.Equal(owner.at) && a.manager > owner.manager) {
					owner = a.answeredCall
				}
			}
			if ownerless[c.ClientPhone] {
				want.lastManager = owner.manager
			}
			if got[i] != want {
				t.Fatalf("seed %d, call %d (%q at %v): got %+v, want %+v", seed, i, c.ClientPhone, c.At, got[i], want)
			}
		}
	}
}

// TestCallbackMatcherOrder: a stream that is not sorted is refused.
func TestCallbackMatcherOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		phones []string
		ats    []time.Time
	}{
		{"phones", []string{"+72", "+71"}, []time.Time{t0, t0}},
		{"times of a phone", []string{"+71", "+71"}, []time.Time{t0.Add(time.Second), t0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newCallbackMatcher(nil, nil, nil)
			var err error
			for i := range tt.phones {
				if err = m.add(tt.phones[i], answeredCall{at: tt.ats[i]}); err != nil {
					break
				}
			}
			if err == nil {
				t.Error("an unsorted stream was taken")
			}
		})
	}
}
