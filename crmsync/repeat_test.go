package crmsync_test

import (
	"context"

	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
)

// clientBase is the client base as of fixed times: phone → when it was
// recorded, and its manager. (The warehouse's KnownClient is tested
// against ClickHouse in package warehouse and end to end in package app.)
type clientBase struct {
	mu      sync.Mutex
	since   map[string]time.Time
	manager map[string]string
	asked   int
}

func (b *clientBase) KnownClient(_ context.Context, phone string, before time.Time) (string, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.asked++
	s, ok := b.since[phone]
	return b.manager[phone], ok && s.Before(before), nil
}

func inboundAt(id, phone string, at time.Time) []call.Event {
	return []call.Event{{Provider: "generic", CallID: id, EventKey: "end", ReceivedAt: at, Direction: call.DirectionInbound,
		StartedAt: at, AnsweredAt: at.Add(5 * time.Second), EndedAt: at.Add(time.Minute), Status: call.StatusAnswered,
		ClientPhone: phone, LinePhone: "+74951234567", Manager: "102", ManagerRank: call.ManagerAnswered}}
}

// TestRepeatLeads: an inbound call from a client of the base after a long
// silence notifies the client's manager at once; calls soon after, calls
// from strangers and outbound calls do not.
func TestRepeatLeads(t *testing.T) {
	r := newRig(t)
	base := &clientBase{since: map[string]time.Time{known: t0.Add(-90 * 24 * time.Hour)}, manager: map[string]string{known: "101"}}
	r.clients = base
	r.restart(t)
	r.srv.KnowPhone(known)
	r.srv.KnowPhone(unknown)

	steps := []struct {
		name   string
		events []call.Event
		notify bool
	}{
		{"first inbound call of a known client", inboundAt("r1", known, t0), true},
		{"a week later: not a new contact", inboundAt("r2", known, t0.Add(7*24*time.Hour)), false},
		{"a stranger", inboundAt("r3", unknown, t0.Add(8*24*time.Hour)), false},
		{"outbound to the known client after two months", busyCallAt("r4", known, t0.Add(60*24*time.Hour)), false},
		{"inbound 31 days after the outbound call", inboundAt("r5", known, t0.Add(91*24*time.Hour)), true},
	}
	notified := 0
	for _, s := range steps {
		r.write(t, s.events...)
		r.waitUntil(t, s.name, r.idle)
		var got []string
		for _, task := range r.srv.Tasks() {
			if strings.Contains(task.Text, "Повторное обращение") {
				got = append(got, task.UserID)
			}
		}
		if s.notify {
			notified++
		}
		if len(got) != notified {
			t.Fatalf("%s: %d repeat-lead notifications, want %d", s.name, len(got), notified)
		}
		if s.notify && got[len(got)-1] != "6543210" {
			t.Errorf("%s: notified user %s, want 6543210 (the client's manager 101, not the call's 102)", s.name, got[len(got)-1])
		}
	}
}

func busyCallAt(id, phone string, at time.Time) []call.Event {
	return []call.Event{{Provider: "generic", CallID: id, EventKey: "end", ReceivedAt: at, Direction: call.DirectionOutbound,
		StartedAt: at, EndedAt: at.Add(5 * time.Second), Status: call.StatusBusy, ClientPhone: phone, Manager: "102"}}
}
