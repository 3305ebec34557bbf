package call

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestFoldEnds covers the end rule: ends on the PBX's clock win over
// arrival-time ends, which count only while the call has none.
func TestFoldEnds(t *testing.T) {
	t0 := time.Date(2024, 5, 14, 7, 21, 5, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	base := Event{Provider: "gravitel", CallID: "c"}
	ev := func(f func(*Event)) Event { e := base; f(&e); return e }
	var (
		started  = ev(func(e *Event) { e.StartedAt, e.Direction = at(0), DirectionInbound })
		accepted = ev(func(e *Event) { e.AnsweredAt, e.Status = at(12), StatusAnswered })
		// COMPLETED as it arrived, and the same replayed a day later.
		completed = ev(func(e *Event) { e.EndedAt, e.ArrivalEnd, e.Status = at(133), true, StatusAnswered })
		replayed  = ev(func(e *Event) { e.EndedAt, e.ArrivalEnd, e.Status = at(86400), true, StatusAnswered })
		// history: start + duration on the PBX's clock, a second before
		// COMPLETED reached us.
		history = ev(func(e *Event) {
			e.StartedAt, e.AnsweredAt, e.EndedAt, e.Status = at(0), at(12), at(132), StatusAnswered
		})
		// A second PBX-clock end (another leg's record), later.
		leg = ev(func(e *Event) { e.EndedAt = at(150) })
		// An arrival-time end without a time: says nothing about the end.
		timeless = ev(func(e *Event) { e.ArrivalEnd = true })
	)
	tests := []struct {
		name   string
		events []Event
		ended  time.Time
		talk   uint32
	}{
		{"arrival end alone", []Event{started, accepted, completed}, at(133), 121},
		{"latest arrival end without history", []Event{started, accepted, completed, replayed}, at(86400), 86388},
		{"history wins over an arrival end", []Event{started, accepted, completed, history}, at(132), 120},
		{"history wins over a later replay", []Event{started, accepted, completed, history, replayed}, at(132), 120},
		{"history wins over an earlier arrival end", []Event{history, ev(func(e *Event) { e.EndedAt, e.ArrivalEnd = at(100), true })}, at(132), 120},
		{"latest of the PBX-clock ends", []Event{history, replayed, leg}, at(150), 138},
		{"an arrival flag without a time", []Event{started, accepted, timeless}, time.Time{}, 0},
		{"history alone", []Event{history}, at(132), 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, order := range permutations(len(tt.events)) {
				evs := make([]Event, 0, 2*len(order))
				for _, i := range order {
					evs = append(evs, tt.events[i])
				}
				evs = append(evs, evs...) // every event twice
				c := Fold(evs)
				if !c.EndedAt.Equal(tt.ended) || c.TalkSeconds != tt.talk {
					t.Fatalf("order %v: ended %v, talk %d; want %v, %d", order, c.EndedAt, c.TalkSeconds, tt.ended, tt.talk)
				}
			}
		})
	}
}

// TestFoldStartAndAnswerIgnoreReplays: a replay of an arrival-time start
// or answer arrives later, and the earliest wins, so it changes nothing.
func TestFoldStartAndAnswerIgnoreReplays(t *testing.T) {
	t0 := time.Date(2024, 5, 14, 7, 21, 5, 0, time.UTC)
	original := []Event{
		{Provider: "gravitel", CallID: "c", EventKey: "event:INCOMING", StartedAt: t0, Direction: DirectionInbound},
		{Provider: "gravitel", CallID: "c", EventKey: "event:ACCEPTED", AnsweredAt: t0.Add(12 * time.Second), Status: StatusAnswered},
		{Provider: "gravitel", CallID: "c", EventKey: "history", EndedAt: t0.Add(132 * time.Second), Status: StatusAnswered},
	}
	want := Fold(original)
	replayed := append([]Event(nil), original...)
	for _, e := range original[:2] {
		later := time.Hour * 24 * 45
		if !e.StartedAt.IsZero() {
			e.StartedAt = e.StartedAt.Add(later)
		}
		if !e.AnsweredAt.IsZero() {
			e.AnsweredAt = e.AnsweredAt.Add(later)
		}
		replayed = append(replayed, e)
	}
	if got := Fold(replayed); got != want {
		t.Errorf("replayed start and answer changed the call:\n got %+v\nwant %+v", got, want)
	}
}

// TestSpoolRecordsBeforeArrivalEnd: records spooled before Event had
// ArrivalEnd decode, with every end on the PBX's clock (as they folded
// then), and keep their dedup keys, so that ClickHouse still collapses
// their re-deliveries with the rows stored before the upgrade.
func TestSpoolRecordsBeforeArrivalEnd(t *testing.T) {
	b, err := os.ReadFile("testdata/spool_before_arrival_end.json")
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		Record   json.RawMessage `json:"record"`
		DedupKey string          `json:"dedup_key"`
	}
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		e, err := Unmarshal(r.Record)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if e.ArrivalEnd || e.EndedAt.IsZero() {
			t.Errorf("record %d: ArrivalEnd %v, EndedAt %v; want a PBX-clock end", i, e.ArrivalEnd, e.EndedAt)
		}
		if got := e.DedupKey(); got != r.DedupKey {
			t.Errorf("record %d: DedupKey %s, was %s", i, got, r.DedupKey)
		}
	}
}

// TestMarshalArrivalEnd: the flag survives the spool, and is part of the
// event's content.
func TestMarshalArrivalEnd(t *testing.T) {
	t0 := time.Date(2024, 5, 14, 7, 23, 17, 0, time.UTC)
	e := Event{Provider: "gravitel", CallID: "c", EventKey: "event:COMPLETED", ReceivedAt: t0, EndedAt: t0, ArrivalEnd: true}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil || got != e {
		t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, e)
	}
	clock := e
	clock.ArrivalEnd = false
	if clock.DedupKey() == e.DedupKey() {
		t.Error("an arrival-time end and a PBX-clock end share a dedup key")
	}
}

// permutations lists every order of n items (n ≤ 6 here).
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := make([]int, 0, n)
			q = append(q, p[:i]...)
			q = append(q, n-1)
			q = append(q, p[i:]...)
			out = append(out, q)
		}
	}
	return out
}
