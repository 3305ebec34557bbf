package dashboards_test

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/scoring"
)

// The lead queue dashboard (callpulse-queue) shows the call queue as
// callpulse publishes it (scoring.Scorer.Publish into lead_queue) and
// computes the follow-up in ClickHouse as analytics does in Go; the
// callback SLA, which Grafana cannot read from callpulse.yml, is a hidden
// constant, checked here to be callpulse's default.

// queueNow is "now" in the queue dashboard's tests: its range, now-6d/d to
// now, is 15 Nov 00:00 to 21 Nov 12:00 Moscow. The fixture has no call
// between queueNow and midnight, so analytics' period 15–21 Nov holds the
// same calls as the range.
var queueNow = time.Date(2026, 11, 21, 12, 0, 0, 0, moscow)

// slaConstant is the dashboard's constant for a callback SLA.
func slaConstant(sla time.Duration) string { return strconv.FormatInt(int64(sla/time.Second), 10) }

// TestQueueConstantsAreTheDefaults: out of the box, the dashboard's
// follow-up panels count with callpulse's default callback SLA.
func TestQueueConstantsAreTheDefaults(t *testing.T) {
	want := slaConstant(config.Default().Analytics.CallbackSLA)
	for _, d := range loadDashboards(t) {
		if d.UID != "callpulse-queue" {
			continue
		}
		v, ok := d.variable("callback_sla")
		if !ok {
			t.Fatalf("%s: no constant callback_sla", d.UID)
		}
		var current string
		_ = json.Unmarshal(v.Current.Value, &current)
		if v.Type != "constant" || v.queryText() != want || current != want {
			t.Errorf("%s: callback_sla is a %s %q (current %q); want the constant %q", d.UID, v.Type, v.queryText(), current, want)
		}
		return
	}
	t.Fatal("no callpulse-queue dashboard")
}

// queueScorer is a daemon's scorer with the scoring settings sc, its clock
// at queueNow.
func queueScorer(t *testing.T, conn driver.Conn, sc config.ScoringConfig) *scoring.Scorer {
	t.Helper()
	scorer, err := scoring.New(conn, scoring.Options{
		Points: sc.Points, OncePerAction: sc.OncePerAction, Decay: sc.Decay, Lookback: sc.Lookback,
		MinSample: sc.MinSample, FallbackThreshold: sc.FallbackThreshold,
		Now: func() time.Time { return queueNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return scorer
}

// publishQueue publishes the fixture's call queue as of queueNow with
// callpulse's default scoring, as the daemon does every refresh interval.
func publishQueue(t *testing.T, conn driver.Conn) {
	t.Helper()
	if err := queueScorer(t, conn, config.Default().Scoring).Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// scoringConfigs are the configurations the queue is checked under.
var scoringConfigs = []struct {
	name string
	edit func(*config.ScoringConfig)
	want scoring.Threshold // the fixture's own expectation
}{
	{"defaults", nil, scoring.Threshold{Value: 30, Source: scoring.Fallback, Sample: 2}},
	// (40 + 30) / 2: client 1's two site visits count once.
	{"once per action", func(c *config.ScoringConfig) { c.OncePerAction = true; c.MinSample = 2 },
		scoring.Threshold{Value: 35, Source: scoring.Calibrated, Sample: 2}},
	// (40 + 30) / 2: client 1's 10 Nov visit has decayed by its conversion;
	// in the queue, client 6's visits of 14 and 15 Nov and client 8's of
	// 16 Nov have.
	{"decay of 5 days", func(c *config.ScoringConfig) { c.Decay = 5 * 24 * time.Hour; c.MinSample = 2 },
		scoring.Threshold{Value: 35, Source: scoring.Calibrated, Sample: 2}},
	// d9 (1 Aug, 20 points) joins: (45 + 30 + 20) / 3.
	{"calibrated over 120 days", func(c *config.ScoringConfig) { c.Lookback = 120 * 24 * time.Hour; c.MinSample = 3 },
		scoring.Threshold{Value: 95.0 / 3, Source: scoring.Calibrated, Sample: 3}},
	// Actions out of the table score 0; a fractional fallback.
	{"another points table", func(c *config.ScoringConfig) {
		c.Points = map[string]int{"site_visit": 10, "application": 1}
		c.FallbackThreshold = 12.5
	}, scoring.Threshold{Value: 12.5, Source: scoring.Fallback, Sample: 2}},
}

// testQueue publishes the call queue under each configuration, as a
// daemon with it would, and compares the queue panel with scoring's queue.
func testQueue(t *testing.T, e *chEnv, conn driver.Conn) {
	ctx := context.Background()
	for _, cfg := range scoringConfigs {
		t.Run(cfg.name, func(t *testing.T) {
			sc := config.Default().Scoring
			sc.Points = maps.Clone(sc.Points)
			if cfg.edit != nil {
				cfg.edit(&sc)
			}
			scorer := queueScorer(t, conn, sc)

			th, err := scorer.Threshold(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if th != cfg.want {
				t.Fatalf("scoring's threshold %+v, the fixture says %+v", th, cfg.want)
			}
			if err := scorer.Publish(ctx); err != nil {
				t.Fatal(err)
			}
			// The queue is as of queueNow, in ms for Grafana's dateTimeFromNow.
			if res := e.panel(t, "Queue published"); len(res.rows) != 1 || res.num(t, 0, "last_published") != float64(queueNow.UnixMilli()) {
				t.Errorf("Queue published: %v, want one row of %d", res.rows, queueNow.UnixMilli())
			}
			q, err := scorer.Queue(ctx, scoring.MaxQueueLimit, true)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.edit == nil {
				checkDefaultQueue(t, q)
			}
			res := e.panel(t, "Call queue: open leads by score")
			leads := make([]scoring.Lead, 0, len(res.rows))
			above := uint64(0)
			for i := range res.rows {
				l := scoring.Lead{
					Phone: res.str(t, i, "phone"), LeadID: res.str(t, i, "lead_id"), Name: res.str(t, i, "name"),
					Category: client.Category(res.str(t, i, "grade")), Source: res.str(t, i, "source"),
					Manager: res.str(t, i, "manager"), Score: int64(res.num(t, i, "score")),
					LastTouchAt: res.time(t, i, "last_touch_at").UTC(), AboveThreshold: res.num(t, i, "above_threshold") == 1,
				}
				if l.AboveThreshold {
					above++
				}
				leads = append(leads, l)
			}
			if !reflect.DeepEqual(leads, q.Leads) {
				t.Errorf("queue:\n dashboard %+v\n scoring   %+v", leads, q.Leads)
			}
			n, err := scorer.AboveThreshold(ctx, th.Value)
			if err != nil {
				t.Fatal(err)
			}
			if above != n {
				t.Errorf("%d leads above the threshold on the dashboard, scoring counts %d (callpulse_queue_leads_above_threshold)", above, n)
			}
		})
	}
}

// checkDefaultQueue checks scoring's queue against the fixture's own
// expectation, so that a broken fixture cannot make both sides trivially
// equal.
func checkDefaultQueue(t *testing.T, q scoring.Queue) {
	t.Helper()
	type line struct {
		lead            string
		score           int64
		above           bool
		grade           client.Category
		source, manager string
	}
	want := []line{
		{"+79160000006", 35, true, client.CategoryB, "avito", "101"},  // line of c25, the earliest call
		{"crm-404", 35, true, client.CategoryUnknown, "facebook", ""}, // utm_source
		{"+79160000003", 30, true, client.CategoryC, "avito", "102"},
		{"+79160000008", 24, false, client.CategoryUnknown, "seo", "112"}, // its deal d4
		{"+79161234567", 20, false, client.CategoryUnknown, "yandex_direct", ""},
		{"+79169999999", 5, false, client.CategoryUnknown, "avito", ""},
	}
	var got []line
	for _, l := range q.Leads {
		got = append(got, line{cmp.Or(l.Phone, l.LeadID), l.Score, l.AboveThreshold, l.Category, l.Source, l.Manager})
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("scoring's queue %+v, the fixture says %+v", got, want)
	}
}

// testTouchesPerAction checks the touches chart against the fixture: days
// in Moscow, a re-sent touch once, nothing outside the range.
func testTouchesPerAction(t *testing.T, e *chEnv) {
	want := map[string]map[string]float64{
		"2026-11-15": {"site_visit": 1},
		"2026-11-16": {"email_open": 1, "site_visit": 1},
		"2026-11-17": {"pricing_page": 1, "form_view": 1, "link_click": 1},
		"2026-11-18": {"pricing_page": 1, "site_visit": 1, "consultation": 1},
		"2026-11-19": {"pricing_page": 2, "consultation": 1},
		"2026-11-20": {"application": 2, "pricing_page": 1, "form_view": 2, "consultation": 1},
		"2026-11-21": {"email_open": 1, "application": 1, "video_download": 1, "site_visit": 1},
	}
	res := e.panel(t, "Touches per action")
	got := map[string]map[string]float64{}
	for i := range res.rows {
		at := res.time(t, i, "time").In(moscow)
		if at.Hour() != 0 || at.Minute() != 0 || at.Second() != 0 {
			t.Errorf("%v is not a Moscow midnight", at)
		}
		day := at.Format(time.DateOnly)
		if got[day] == nil {
			got[day] = map[string]float64{}
		}
		got[day][res.str(t, i, "action")] = res.num(t, i, "touches")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("touches per day and action:\n dashboard %v\n fixture   %v", got, want)
	}
}

// callbackSLA is the SLA the dashboard's callback_sla constant holds.
func callbackSLA(t *testing.T, e *chEnv) time.Duration {
	t.Helper()
	s, err := strconv.Atoi(e.vars["callback_sla"].values[0])
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(s) * time.Second
}

// followUpRange is a time range of the dashboard and the analytics period
// of the same days.
type followUpRange struct {
	from, to string // the period's days
	r        chRequest
}

// followUpRanges are the ranges the follow-up tables are compared over:
// the dashboard's default range, ending at queueNow, and whole days.
func followUpRanges(t *testing.T, e *chEnv) []followUpRange {
	t.Helper()
	days := func(from, to string) followUpRange { return followUpRange{from, to, dayRange(t, from, to, moscow)} }
	return []followUpRange{
		{"2026-11-15", "2026-11-21", e.r},
		days("2026-11-18", "2026-11-18"),
		days("2026-11-20", "2026-11-20"),
		days("2026-11-01", "2026-11-30"),
	}
}

// missedLine is what the missed-calls table shows of a missed call.
type missedLine struct {
	At, CalledBackAt time.Time
	Phone, Source    string
	Owner            string
	CallbackSeconds  int64
	Open, WithinSLA  bool
}

// callbackState is the dashboard's callback column for a missed call.
func callbackState(open, withinSLA bool) string {
	switch {
	case open:
		return "open"
	case withinSLA:
		return "in time"
	}
	return "late"
}

func testMissed(t *testing.T, e *chEnv, store *analytics.Store) {
	sla := callbackSLA(t, e)
	def := e.r
	defer func() { e.r = def }()
	for _, rg := range followUpRanges(t, e) {
		rows, err := store.Missed(context.Background(), period(t, rg.from, rg.to), false, sla)
		if err != nil {
			t.Fatal(err)
		}
		var want []missedLine
		states := map[string]int{} // open, in time, late
		for _, m := range rows {
			l := missedLine{At: m.At.UTC(), Phone: m.ClientPhone, Source: m.Source, Owner: m.Owner,
				CallbackSeconds: m.CallbackSeconds, Open: m.Open, WithinSLA: m.WithinSLA}
			if !m.Open {
				l.CalledBackAt = m.CalledBackAt.UTC()
			}
			want = append(want, l)
			states[callbackState(m.Open, m.WithinSLA)]++
		}
		// c10, c25 open; c15, c19, c21 in time; c5, c18 late.
		if want := map[string]int{"open": 2, "in time": 3, "late": 2}; rg.from == "2026-11-15" && !maps.Equal(states, want) {
			t.Fatalf("analytics: missed calls of the week %v; the fixture says %v", states, want)
		}

		e.r = rg.r
		res := e.panel(t, "Missed calls and callbacks")
		var got []missedLine
		for i := range res.rows {
			m := missedLine{At: res.time(t, i, "at").UTC(), Phone: res.str(t, i, "phone"), Source: res.str(t, i, "source"),
				Owner: res.str(t, i, "owner"), CallbackSeconds: -1}
			if at := res.optTime(t, i, "called_back_at"); !at.IsZero() {
				m.CalledBackAt = at.UTC()
			}
			if s, ok := res.optNum(t, i, "callback_seconds"); ok {
				m.CallbackSeconds = int64(s)
			}
			switch c := res.str(t, i, "callback"); c {
			case "open":
				m.Open = true
			case "in time":
				m.WithinSLA = true
			case "late":
			default:
				t.Errorf("callback %q: want open, in time or late", c)
			}
			got = append(got, m)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s..%s missed calls:\n dashboard %+v\n analytics %+v", rg.from, rg.to, got, want)
		}
	}
}

func testSpeed(t *testing.T, e *chEnv, store *analytics.Store) {
	sla := callbackSLA(t, e)
	def := e.r
	defer func() { e.r = def }()
	for _, rg := range followUpRanges(t, e) {
		want, err := store.SpeedToLead(context.Background(), period(t, rg.from, rg.to), sla, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rg.from == "2026-11-15" && len(want) < 4 {
			t.Fatalf("analytics: speed to lead %+v; the fixture should give several managers and sources", want)
		}
		e.r = rg.r
		res := e.panel(t, "Speed to lead per manager and source")
		var got []analytics.SpeedRow
		for i := range res.rows {
			got = append(got, analytics.SpeedRow{
				Manager: res.str(t, i, "manager"), Source: res.str(t, i, "source"),
				Leads: uint64(res.num(t, i, "leads")), Reached: uint64(res.num(t, i, "reached")),
				MedianSeconds: res.num(t, i, "median_seconds"), P90Seconds: res.num(t, i, "p90_seconds"),
				WithinSLA: uint64(res.num(t, i, "within_sla")),
			})
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s..%s speed to lead:\n dashboard %+v\n analytics %+v", rg.from, rg.to, got, want)
		}
	}
}
