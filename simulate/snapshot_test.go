package simulate

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
)

func TestDeliveries(t *testing.T) {
	start := time.Date(2026, 11, 20, 9, 15, 0, 0, moscow)
	answered := plannedCall{
		id:        "c-1",
		direction: call.DirectionInbound,
		status:    call.StatusAnswered,
		client:    "+79161234567",
		line:      "+74951112233",
		manager:   "101",
		started:   start,
		answered:  start.Add(7 * time.Second),
		ended:     start.Add(4*time.Minute + 41*time.Second),
		recording: "https://pbx.example/rec/c-1.mp3",
	}
	reversed := answered
	reversed.late = 5 * time.Second
	missed := answered
	missed.status, missed.answered, missed.ended, missed.recording = call.StatusMissed, time.Time{}, start.Add(20*time.Second), ""
	busy := missed
	busy.direction, busy.status, busy.ended = call.DirectionOutbound, call.StatusBusy, start.Add(2*time.Second)

	const (
		inProgress = `{"call_id":"c-1","direction":"inbound","started_at":"2026-11-20T09:15:00+03:00","answered_at":"2026-11-20T09:15:07+03:00","client_phone":"+79161234567","line_phone":"+74951112233","manager":"101","status":"answered"}`
		final      = `{"call_id":"c-1","direction":"inbound","started_at":"2026-11-20T09:15:00+03:00","answered_at":"2026-11-20T09:15:07+03:00","ended_at":"2026-11-20T09:19:41+03:00","client_phone":"+79161234567","line_phone":"+74951112233","manager":"101","status":"answered","recording_url":"https://pbx.example/rec/c-1.mp3"}`
	)
	type want struct {
		due  time.Duration // after start
		body string
	}
	for _, tc := range []struct {
		name string
		call plannedCall
		want []want
	}{
		{"answered", answered, []want{{7 * time.Second, inProgress}, {281 * time.Second, final}}},
		{"answered, reversed", reversed, []want{{281 * time.Second, final}, {286 * time.Second, inProgress}}},
		{"missed", missed, []want{{20 * time.Second,
			`{"call_id":"c-1","direction":"inbound","started_at":"2026-11-20T09:15:00+03:00","ended_at":"2026-11-20T09:15:20+03:00","client_phone":"+79161234567","line_phone":"+74951112233","manager":"101","status":"missed"}`}}},
		{"busy", busy, []want{{2 * time.Second,
			`{"call_id":"c-1","direction":"outbound","started_at":"2026-11-20T09:15:00+03:00","ended_at":"2026-11-20T09:15:02+03:00","client_phone":"+79161234567","line_phone":"+74951112233","manager":"101","status":"busy"}`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.call.deliveries()
			if len(got) != len(tc.want) {
				t.Fatalf("%d deliveries, want %d", len(got), len(tc.want))
			}
			for i, d := range got {
				body, err := json.Marshal(d.snap)
				if err != nil {
					t.Fatal(err)
				}
				if string(body) != tc.want[i].body {
					t.Errorf("delivery %d body\n got %s\nwant %s", i, body, tc.want[i].body)
				}
				if due := d.due.Sub(start); due != tc.want[i].due {
					t.Errorf("delivery %d due %v after the start, want %v", i, due, tc.want[i].due)
				}
			}
		})
	}
}
