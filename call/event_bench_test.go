package call

import (
	"testing"
	"time"
)

// BenchmarkUnmarshal is the decode every spool consumer pays per event.
func BenchmarkUnmarshal(b *testing.B) {
	e := benchEvent()
	data, err := e.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		got, err := Unmarshal(data)
		if err != nil || got != e {
			b.Fatalf("round trip: %v %+v", err, got)
		}
	}
}

// benchEvent is an event as the generic webhook makes it.
func benchEvent() Event {
	t0 := time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)
	return Event{Provider: "generic", CallID: "c-123456", EventKey: "abcdef0123456789", ReceivedAt: t0,
		Direction: DirectionInbound, StartedAt: t0, AnsweredAt: t0.Add(7 * time.Second), EndedAt: t0.Add(time.Minute),
		ClientPhone: "+79161234567", LinePhone: "+74951112233", Manager: "101", ManagerRank: ManagerAnswered,
		Status: StatusAnswered, RecordingURL: "https://pbx.example/rec/c-1.mp3"}
}
