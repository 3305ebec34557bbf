package scoring_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/callpulse/callpulse/deal"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/scoring"
)

// FuzzParseTouches checks that ParseTouches never panics and either
// refuses a body with an *InputError or returns touches that keep every
// rule.
func FuzzParseTouches(f *testing.F) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "scenario", "touches.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(fixture),
		`{"phone": "+79160000301", "action": "site_visit", "at": "2026-11-20T10:00:00+03:00"}`,
		`{"lead_id": "x", "action": "application", "at": "2026-11-20T10:00:00Z", "utm_source": null}`,
		`[{"phone": "12", "action": "webinar", "at": 5}]`,
		`[]`, `{}`, `[{}, "x"]`, `{"a": 1} {"b": 2}`,
	} {
		f.Add([]byte(seed))
	}
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		f.Fatal(err)
	}
	known := scoring.DefaultPoints()
	var actions []string
	for a := range known {
		actions = append(actions, a)
	}
	isKnown := func(a string) bool { _, ok := known[a]; return ok }
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		touches, err := scoring.ParseTouches(body, norm, actions, now)
		if err != nil {
			var bad *scoring.InputError
			if !errors.As(err, &bad) || bad.Msg == "" {
				t.Fatalf("error %v (%T), want an *InputError with a message", err, err)
			}
			return
		}
		if len(touches) == 0 || len(touches) > scoring.MaxTouches {
			t.Fatalf("%d touches", len(touches))
		}
		for i, tc := range touches {
			switch {
			case tc.Phone == "" && tc.LeadID == "":
				t.Errorf("touch %d has neither phone nor lead id", i)
			case !isKnown(tc.Action):
				t.Errorf("touch %d: unknown action %q", i, tc.Action)
			case tc.At.Before(deal.MinTime) || tc.At.After(now.Add(scoring.MaxFuture)):
				t.Errorf("touch %d: time %v out of range", i, tc.At)
			case len(tc.ID) > scoring.MaxTouchIDLen || len(tc.LeadID) > scoring.MaxLeadIDLen ||
				len(tc.UTMSource) > scoring.MaxUTMSourceLen:
				t.Errorf("touch %d: a field is too long", i)
			}
		}
	})
}
