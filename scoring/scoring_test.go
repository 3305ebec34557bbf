package scoring_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/scoring"
)

// scored is a lead of the queue as the tests compare it.
type scored struct {
	Lead  string
	Score int64
}

func queueScores(q scoring.Queue) []scored {
	out := make([]scored, 0, len(q.Leads))
	for _, l := range q.Leads {
		out = append(out, scored{key(l.Phone, l.LeadID), l.Score})
	}
	return out
}

// TestScoresAndThreshold scores the scenario under several configurations
// of the same stored touches: a configuration change re-scores history.
func TestScoresAndThreshold(t *testing.T) {
	e := newEnv(t)
	e.loadScenario(t)
	tests := []struct {
		name      string
		edit      func(*scoring.Options)
		threshold scoring.Threshold
		queue     []scored // all=true, in queue order
	}{
		{
			name:      "defaults",
			threshold: scoring.Threshold{Value: 32, Source: scoring.Calibrated, Sample: 3},
			queue: []scored{
				{"+79160000201", 50},
				{"lead:crm-77", 40}, // ties with O2 on score; its last touch is newer
				{"+79160000202", 40},
				{"+79160000203", 15},
				{"+79160000205", 2}, // the 13:00 link_click is after now
			},
		},
		{
			name:      "once per action",
			edit:      func(o *scoring.Options) { o.OncePerAction = true },
			threshold: scoring.Threshold{Value: 91.0 / 3, Source: scoring.Calibrated, Sample: 3},
			queue: []scored{
				{"lead:crm-77", 40},
				{"+79160000202", 40},
				{"+79160000201", 35},
				{"+79160000203", 5},
				{"+79160000205", 2},
			},
		},
		{
			name:      "decay of 7 days",
			edit:      func(o *scoring.Options) { o.Decay = 7 * 24 * time.Hour },
			threshold: scoring.Threshold{Value: 22, Source: scoring.Calibrated, Sample: 3},
			queue: []scored{
				{"+79160000201", 50},
				{"lead:crm-77", 40},
				{"+79160000202", 40},
				{"+79160000203", 10}, // the 10 Nov visit has decayed
				{"+79160000205", 2},
			},
		},
		{
			name: "another points table",
			edit: func(o *scoring.Options) { o.Points = map[string]int{"site_visit": 10, "application": 1} },
			// W1 10 + 1, W2 10 + 10, W3 1 (form_view and email_open score 0).
			threshold: scoring.Threshold{Value: 32.0 / 3, Source: scoring.Calibrated, Sample: 3},
			queue: []scored{
				{"+79160000203", 30},
				{"lead:crm-77", 11},
				{"+79160000202", 10},
				{"+79160000201", 1},
				{"+79160000205", 0},
			},
		},
		{
			name:      "too few conversions",
			edit:      func(o *scoring.Options) { o.MinSample = 4 },
			threshold: scoring.Threshold{Value: 30, Source: scoring.Fallback, Sample: 3},
			queue: []scored{
				{"+79160000201", 50},
				{"lead:crm-77", 40},
				{"+79160000202", 40},
				{"+79160000203", 15},
				{"+79160000205", 2},
			},
		},
		{
			name:      "short look-back",
			edit:      func(o *scoring.Options) { o.Lookback = 30 * 24 * time.Hour; o.MinSample = 1 },
			threshold: scoring.Threshold{Value: 42, Source: scoring.Calibrated, Sample: 1}, // W1 only
			queue: []scored{
				{"+79160000201", 50},
				{"lead:crm-77", 40},
				{"+79160000202", 40},
				{"+79160000203", 15},
				{"+79160000205", 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.scorer(t, tt.edit)
			ctx := context.Background()
			th, err := s.Threshold(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if th != tt.threshold {
				t.Errorf("Threshold = %+v, want %+v", th, tt.threshold)
			}
			q, err := s.Queue(ctx, scoring.MaxQueueLimit, true)
			if err != nil {
				t.Fatal(err)
			}
			if got := queueScores(q); !reflect.DeepEqual(got, tt.queue) {
				t.Errorf("queue:\n got %v\nwant %v", got, tt.queue)
			}
			if q.Threshold != tt.threshold {
				t.Errorf("queue threshold = %+v, want %+v", q.Threshold, tt.threshold)
			}
		})
	}
}

// TestQueue checks hiding, the limit, and what the queue says of each lead.
func TestQueue(t *testing.T) {
	e := newEnv(t)
	e.loadScenario(t)
	s := e.scorer(t, nil)
	ctx := context.Background()

	q, err := s.Queue(ctx, 50, false)
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hour, min int) time.Time { return time.Date(2026, 11, day, hour, min, 0, 0, time.UTC) }
	want := []scoring.Lead{
		{Phone: "+79160000201", LeadID: "D-201", Category: client.CategoryUnknown, Source: "seo", Manager: "102",
			Score: 50, LastTouchAt: at(19, 10, 30), AboveThreshold: true},
		{LeadID: "crm-77", Category: client.CategoryUnknown, Source: "yandex",
			Score: 40, LastTouchAt: at(20, 11, 0), AboveThreshold: true},
		{Phone: "+79160000202", Name: "Ольга", Category: client.CategoryA, Source: "vk_ads", Manager: "101",
			Score: 40, LastTouchAt: at(20, 9, 0), AboveThreshold: true},
	}
	if !reflect.DeepEqual(q.Leads, want) {
		t.Errorf("queue above the threshold:\n got %+v\nwant %+v", q.Leads, want)
	}

	all, err := s.Queue(ctx, 50, true)
	if err != nil {
		t.Fatal(err)
	}
	hidden := all.Leads[3:]
	wantHidden := []scoring.Lead{
		// The line of its call beats the utm_source of its touches.
		{Phone: "+79160000203", Category: client.CategoryUnknown, Source: "avito", Score: 15,
			LastTouchAt: at(20, 8, 0)},
		{Phone: "+79160000205", LeadID: "crm-88", Category: client.CategoryUnknown, Source: "unknown", Score: 2,
			LastTouchAt: at(20, 7, 0)},
	}
	if !reflect.DeepEqual(hidden, wantHidden) {
		t.Errorf("leads under the threshold with all=true:\n got %+v\nwant %+v", hidden, wantHidden)
	}

	top, err := s.Queue(ctx, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := queueScores(top), []scored{{"+79160000201", 50}, {"lead:crm-77", 40}}; !reflect.DeepEqual(got, want) {
		t.Errorf("limit 2: got %v, want %v", got, want)
	}

	n, err := s.AboveThreshold(ctx, q.Threshold.Value)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("AboveThreshold = %d, want 3", n)
	}

	for _, limit := range []int{0, scoring.MaxQueueLimit + 1} {
		if _, err := s.Queue(ctx, limit, false); err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("Queue(limit %d) = %v, want a limit error", limit, err)
		}
	}
}

// TestThresholdRecalibrates wins O1's deal: the threshold takes in its
// score at conversion (50) and O1 leaves the queue.
func TestThresholdRecalibrates(t *testing.T) {
	e := newEnv(t)
	e.loadScenario(t)
	s := e.scorer(t, func(o *scoring.Options) { o.MinSample = 4 })
	ctx := context.Background()

	before, err := s.Threshold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (scoring.Threshold{Value: 30, Source: scoring.Fallback, Sample: 3}); before != want {
		t.Fatalf("before: Threshold = %+v, want %+v", before, want)
	}

	e.importDeals(t, "d201_won.csv", scenarioNow.Add(-30*time.Minute))

	after, err := s.Threshold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (scoring.Threshold{Value: (96 + 50) / 4.0, Source: scoring.Calibrated, Sample: 4}); after != want {
		t.Errorf("after D-201 is won: Threshold = %+v, want %+v", after, want)
	}
	q, err := s.Queue(ctx, 50, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := queueScores(q), []scored{{"lead:crm-77", 40}, {"+79160000202", 40}}; !reflect.DeepEqual(got, want) {
		t.Errorf("queue after D-201 is won: got %v, want %v", got, want)
	}
}

// TestHot lists the leads at or above the threshold (32) with their scores
// as of a time before.
func TestHot(t *testing.T) {
	e := newEnv(t)
	e.loadScenario(t)
	// From the book of the touches, and in SQL (as on replicated tables).
	scorers := map[string]*scoring.Scorer{
		"book": e.scorer(t, nil),
		"sql":  e.scorer(t, func(o *scoring.Options) { o.KeepTouches = 0 }),
	}
	// The three hot leads now, hottest first, with their scores as of
	// since: O1 (D-201) rose from 15 after its first pricing page view to
	// 50 at 10:30 on the 19th; crm-77 and O2 reached 40 on the 20th.
	hot := func(o1, crm77, o2 int64) []scoring.HotLead {
		return []scoring.HotLead{
			{Phone: "+79160000201", LeadID: "D-201", ScoreBefore: o1, Score: 50, Threshold: 32,
				LastTouchAt: time.Date(2026, 11, 19, 10, 30, 0, 0, time.UTC)},
			{LeadID: "crm-77", ScoreBefore: crm77, Score: 40, Threshold: 32,
				LastTouchAt: time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)},
			{Phone: "+79160000202", ScoreBefore: o2, Score: 40, Threshold: 32,
				LastTouchAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)},
		}
	}
	tests := []struct {
		since time.Time
		want  []scoring.HotLead
	}{
		{since: time.Time{}, want: hot(0, 0, 0)},
		{since: time.Date(2026, 11, 18, 12, 0, 0, 0, time.UTC), want: hot(15, 0, 0)},
		{since: time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC), want: hot(50, 0, 0)},
		{since: scenarioNow, want: hot(50, 40, 40)},
	}
	for kind, s := range scorers {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.since.Format(time.RFC3339), func(t *testing.T) {
				got, err := s.Hot(context.Background(), tt.since)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Hot:\n got %+v\nwant %+v", got, tt.want)
				}
			})
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*scoring.Options)
		want string // "" = valid
	}{
		{"defaults", func(*scoring.Options) {}, ""},
		{"no points", func(o *scoring.Options) { o.Points = nil }, "points: empty"},
		{"bad action id", func(o *scoring.Options) { o.Points = map[string]int{"Site Visit": 5} }, `action "Site Visit"`},
		{"negative points", func(o *scoring.Options) { o.Points["site_visit"] = -1 }, "site_visit: -1 points"},
		{"too many points", func(o *scoring.Options) { o.Points["site_visit"] = scoring.MaxPoints + 1 }, "site_visit"},
		{"negative decay", func(o *scoring.Options) { o.Decay = -time.Hour }, "decay"},
		{"sub-second decay", func(o *scoring.Options) { o.Decay = time.Millisecond }, "decay"},
		{"no look-back", func(o *scoring.Options) { o.Lookback = 0 }, "lookback"},
		{"no sample", func(o *scoring.Options) { o.MinSample = 0 }, "min_sample"},
		{"negative fallback", func(o *scoring.Options) { o.FallbackThreshold = -1 }, "fallback_threshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := scoring.DefaultOptions()
			tt.edit(&o)
			err := o.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
