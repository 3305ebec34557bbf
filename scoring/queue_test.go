package scoring_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/scoring"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// Lines of the calls added to the scenario for the line sources.
const (
	yandexLine = "+74951110001"
	plainLine  = "+74951110009"
)

// queueCall is an event of a call added to the scenario.
type queueCall struct {
	id, client, line string
	start            string // UTC
}

// The calls the line sources of the queue come from. O3 called on the
// avito line on 5 Nov (the scenario's call); O5 on a line without a source
// first, then on yandex; a call of O1 (whose source is its deal's) on
// yandex.
var queueCalls = []queueCall{
	{"o5-plain", "+79160000205", plainLine, "2026-11-10 10:00:00"},
	{"o5-yandex", "+79160000205", yandexLine, "2026-11-12 10:00:00"},
	{"o1-yandex", "+79160000201", yandexLine, "2026-11-18 09:00:00"},
}

// TestQueueMatchesRaw checks that Queue, Threshold and AboveThreshold
// (from the book of the touches, or, as on replicated tables, one pass
// over them in SQL; line sources from the phone rollup) equal QueueRaw and
// ThresholdRaw (the straightforward queries, line sources from the calls
// view) under several configurations, limits and hiding: without a
// rollup snapshot, with one, with calls that arrived after it (one moving
// a lead's first call earlier, to another line), and after the next
// refresh.
func TestQueueMatchesRaw(t *testing.T) {
	e := newEnv(t)
	e.loadScenario(t)
	ctx := context.Background()
	w := warehouse.NewEventWriter(e.db, map[string]string{avitoLine: "avito", yandexLine: "yandex"},
		warehouse.NewMetrics(nil), nil)
	seq := uint64(100)
	write := func(calls ...queueCall) {
		t.Helper()
		var recs []spool.Record
		for _, c := range calls {
			start, err := time.Parse(time.DateTime, c.start)
			if err != nil {
				t.Fatal(err)
			}
			// Events of one call differ in content, hence in key.
			ev := call.Event{Provider: "generic", CallID: c.id, EventKey: "snapshot-" + c.client, ReceivedAt: start,
				Direction: call.DirectionInbound, StartedAt: start, EndedAt: start.Add(time.Minute),
				ClientPhone: c.client, LinePhone: c.line, Status: call.StatusMissed}
			b, err := ev.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			seq++
			recs = append(recs, spool.Record{Seq: seq, Data: b})
		}
		if err := w.Write(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	write(queueCalls...)

	configs := []struct {
		name string
		edit func(*scoring.Options)
	}{
		{"defaults", nil},
		{"once per action", func(o *scoring.Options) { o.OncePerAction = true }},
		{"decay of 7 days", func(o *scoring.Options) { o.Decay = 7 * 24 * time.Hour }},
	}
	check := func(stage string, wantSource map[string]string) {
		t.Helper()
		for _, c := range configs {
			s := e.scorer(t, c.edit)
			sqlOnly := e.scorer(t, func(o *scoring.Options) {
				if c.edit != nil {
					c.edit(o)
				}
				o.KeepTouches = 0
			})
			thRaw, err := s.ThresholdRaw(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, sc := range []*scoring.Scorer{s, sqlOnly} {
				th, err := sc.Threshold(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if th != thRaw {
					t.Errorf("%s, %s: Threshold = %+v, ThresholdRaw = %+v", stage, c.name, th, thRaw)
				}
			}
			for _, limit := range []int{scoring.MaxQueueLimit, 2} {
				for _, all := range []bool{true, false} {
					raw, err := s.QueueRaw(ctx, limit, all)
					if err != nil {
						t.Fatal(err)
					}
					for _, sc := range []*scoring.Scorer{s, sqlOnly} {
						q, err := sc.Queue(ctx, limit, all)
						if err != nil {
							t.Fatal(err)
						}
						if !reflect.DeepEqual(q, raw) {
							t.Errorf("%s, %s, limit %d, all %v, book %v:\n Queue    %+v\n QueueRaw %+v",
								stage, c.name, limit, all, sc == s, q, raw)
						}
					}
				}
			}
			// The count above the threshold, both ways.
			raw, err := s.QueueRaw(ctx, scoring.MaxQueueLimit, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, sc := range []*scoring.Scorer{s, sqlOnly} {
				if n, err := sc.AboveThreshold(ctx, thRaw.Value); err != nil || n != uint64(len(raw.Leads)) {
					t.Errorf("%s, %s, book %v: AboveThreshold = %d, %v; want %d", stage, c.name, sc == s, n, err, len(raw.Leads))
				}
			}
		}
		// The sources the line sources decide, so the comparison above
		// is not vacuous.
		q, err := e.scorer(t, nil).Queue(ctx, scoring.MaxQueueLimit, true)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, l := range q.Leads {
			if _, ok := wantSource[l.Phone]; ok {
				got[l.Phone] = l.Source
			}
		}
		if !reflect.DeepEqual(got, wantSource) {
			t.Errorf("%s: sources %v, want %v", stage, got, wantSource)
		}
	}
	sources := map[string]string{"+79160000203": "avito", "+79160000205": "yandex", "+79160000201": "seo"}
	check("no rollup snapshot", sources)

	rollup := analytics.NewRollup(e.db.Conn(), analytics.RollupOptions{Margin: time.Nanosecond})
	refresh := func() {
		t.Helper()
		kind, err := rollup.Refresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("refresh: %s", kind)
	}
	refresh()
	check("after a rollup refresh", sources)

	// O3 turns out to have called on yandex on 1 Nov, before its avito
	// call; O5's plain-line call moves to another phone.
	write(queueCall{"o3-earlier", "+79160000203", yandexLine, "2026-11-01 10:00:00"},
		queueCall{"o5-plain", "+79160000299", "", "2026-11-10 10:00:00"})
	sources["+79160000203"] = "yandex"
	check("with calls since the snapshot", sources)
	refresh()
	check("after the next refresh", sources)
}
