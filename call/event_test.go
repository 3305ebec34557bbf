package call

import (
	"testing"
	"time"
)

func TestDedupKey(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	a := Event{Provider: "p", CallID: "c", EventKey: "ANSWER", ReceivedAt: t0, AnsweredAt: t0, Manager: "101"}
	redelivered := a
	redelivered.ReceivedAt = t0.Add(time.Minute)
	if a.DedupKey() != redelivered.DedupKey() {
		t.Error("an exact re-delivery got another key")
	}
	later := a
	later.AnsweredAt = t0.Add(time.Minute) // answer time taken from a later arrival
	if a.DedupKey() == later.DedupKey() {
		t.Error("events with different content share a key")
	}
}

func TestFoldIsOrderIndependent(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	events := []Event{
		{Provider: "p", CallID: "c", StartedAt: t0, Direction: DirectionInbound, ClientPhone: "+79161234567", Manager: "101"},
		{Provider: "p", CallID: "c", AnsweredAt: t0.Add(5 * time.Second), Manager: "102", ManagerRank: ManagerAnswered, Status: StatusAnswered},
		{Provider: "p", CallID: "c", EndedAt: t0.Add(65 * time.Second), Status: StatusMissed, Manager: "103", ManagerRank: ManagerEnded},
		{Provider: "p", CallID: "c", RecordingRef: "r1"},
	}
	want := Call{Provider: "p", CallID: "c", Direction: DirectionInbound, StartedAt: t0, AnsweredAt: t0.Add(5 * time.Second),
		EndedAt: t0.Add(65 * time.Second), ClientPhone: "+79161234567", Manager: "102", Status: StatusAnswered, TalkSeconds: 60, RecordingRef: "r1"}
	perms := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2, 1, 1}, {2, 0, 3, 1, 0, 2}}
	for _, p := range perms {
		var evs []Event
		for _, i := range p {
			evs = append(evs, events[i])
		}
		if got := Fold(evs); got != want {
			t.Errorf("order %v:\n got %+v\nwant %+v", p, got, want)
		}
	}
}

func TestTalk(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name            string
		status          Status
		answered, ended time.Time
		reported        uint32
		want            uint32
	}{
		{"answered", StatusAnswered, t0, t0.Add(90 * time.Second), 0, 90},
		{"reported wins", StatusAnswered, t0, t0.Add(90 * time.Second), 80, 80},
		{"in progress", StatusAnswered, t0, time.Time{}, 0, 0},
		{"not answered", StatusMissed, time.Time{}, t0, 30, 0},
	}
	for _, tt := range tests {
		if got := Talk(tt.status, tt.answered, tt.ended, tt.reported); got != tt.want {
			t.Errorf("%s: Talk = %d, want %d", tt.name, got, tt.want)
		}
	}
}
