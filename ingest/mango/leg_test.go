package mango

import (
	"reflect"
	"testing"

	"github.com/callpulse/callpulse/call"
)

// TestLegsOutOfOrder folds the leg notifications of the answered inbound
// call in every order: whatever seq arrives late, the fold is the same,
// and it is the call's real timeline.
func TestLegsOutOfOrder(t *testing.T) {
	p := newProvider(t)
	var events []call.Event
	for _, name := range inboundAnswered {
		if name[:5] != "call." {
			continue
		}
		evs, err := parseReq(t, p, signed(fixture(t, name)))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, evs...)
	}
	want := call.Call{Provider: Name, CallID: "MzI0NjQ5NjQ0MjoxMDE=",
		StartedAt: unix(1715671265), AnsweredAt: unix(1715671279), EndedAt: unix(1715671411),
		Manager: "101", Status: call.StatusAnswered, TalkSeconds: 132}
	n := 0
	permute(events, 0, func(order []call.Event) {
		n++
		if got := call.Fold(order); !reflect.DeepEqual(got, want) {
			t.Fatalf("order %v folds to %+v, want %+v", keys(order), got, want)
		}
	})
	if n < 120 {
		t.Fatalf("only %d orders tried", n)
	}
}

func permute(s []call.Event, k int, visit func([]call.Event)) {
	if k == len(s) {
		visit(s)
		return
	}
	for i := k; i < len(s); i++ {
		s[k], s[i] = s[i], s[k]
		permute(s, k+1, visit)
		s[k], s[i] = s[i], s[k]
	}
}

func keys(evs []call.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventKey
	}
	return out
}

func TestLegManager(t *testing.T) {
	tests := []struct {
		fixture string
		manager string
		rank    uint8
	}{
		{"call.in_abonent_appeared", "101", call.ManagerRang},
		{"call.in_abonent_connected", "101", call.ManagerAnswered},
		{"call.in_abonent_disconnected", "101", call.ManagerRang},
		{"call.out_busy_appeared", "102", call.ManagerRang},
		{"call.out_busy_disconnected", "102", call.ManagerEnded},
		{"call.out_answered_connected", "103", call.ManagerAnswered},
		{"call.callback_client_connected", "101", call.ManagerAnswered},
		{"call.in_ivr_appeared", "", 0},
	}
	p := newProvider(t)
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			evs, err := parseReq(t, p, signed(fixture(t, tt.fixture)))
			if err != nil || len(evs) != 1 {
				t.Fatalf("Parse: %d events, %v", len(evs), err)
			}
			if evs[0].Manager != tt.manager || evs[0].ManagerRank != tt.rank {
				t.Errorf("manager %q rank %d, want %q rank %d", evs[0].Manager, evs[0].ManagerRank, tt.manager, tt.rank)
			}
		})
	}
}
