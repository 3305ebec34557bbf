package faults

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest/generic"
	"github.com/callpulse/callpulse/phone"
)

// The traffic is what the daemon accepts, its webhook keys are the event
// keys ingest/generic derives (so call_events rows can be matched to
// webhooks), and call.Fold folds each call's webhooks into its Want.
func TestTrafficMatchesTheGenericWebhook(t *testing.T) {
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	p, err := generic.New("tok", norm)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 23, 59, 30, 0, time.UTC)
	tests := []struct {
		name string
		tr   Traffic
	}{
		{"clocks agree", Traffic{Prefix: "t", Now: now, Seed: 1}},
		{"skewed clock, several offsets", Traffic{Prefix: "s", Now: now, Seed: 2,
			Skews: []time.Duration{-30 * 24 * time.Hour, 26 * time.Hour},
			Zones: []*time.Location{time.UTC, time.FixedZone("-05:00", -5*60*60), time.FixedZone("+05:45", 5*60*60+45*60)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			statuses := map[string]bool{}
			for i := range 200 {
				c := tt.tr.Call(i)
				statuses[c.Want.Status] = true
				var events []call.Event
				for n, w := range c.Webhooks {
					req := httptest.NewRequest(http.MethodPost, "/webhooks/generic", bytes.NewReader(w.Body))
					req.Header.Set("Authorization", "Bearer tok")
					req.Header.Set("Content-Type", "application/json")
					parsed, err := p.Parse(req, w.Body, now)
					if err != nil {
						t.Fatalf("call %d webhook %d rejected: %v\n%s", i, n, err, w.Body)
					}
					if len(parsed.Events) != 1 || parsed.Events[0].EventKey != w.Key || parsed.Events[0].CallID != c.ID {
						t.Fatalf("call %d webhook %d: events %+v, want one of call %s with key %s", i, n, parsed.Events, c.ID, w.Key)
					}
					events = append(events, parsed.Events[0])
				}
				if c.Webhooks[0].Key == c.Webhooks[1].Key {
					t.Errorf("call %d: both webhooks have key %s", i, c.Webhooks[0].Key)
				}
				f := call.Fold(events)
				got := Folded{CallID: f.CallID, Direction: f.Direction.String(), Status: f.Status.String(),
					StartedAt: unix(f.StartedAt), AnsweredAt: unix(f.AnsweredAt), EndedAt: unix(f.EndedAt), TalkSeconds: f.TalkSeconds}
				if got != c.Want {
					t.Errorf("call %d folds to %+v, want %+v", i, got, c.Want)
				}
				if again := tt.tr.Call(i); !bytes.Equal(again.Webhooks[1].Body, c.Webhooks[1].Body) {
					t.Errorf("call %d is not reproducible", i)
				}
			}
			if len(statuses) < 4 {
				t.Errorf("statuses %v: want a mix", statuses)
			}
		})
	}
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
