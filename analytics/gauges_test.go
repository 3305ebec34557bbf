package analytics_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

func TestGaugesShowToday(t *testing.T) {
	ctx := context.Background()
	db, err := warehouse.Open(chtest.NewDatabase(t), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Moscow")
	now := time.Date(2026, 11, 20, 18, 0, 0, 0, loc)
	if err := db.UpsertClients(ctx, []client.Client{{Phone: "+79160000001", Category: client.CategoryA}}, "test", now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	mk := func(id, ext string, start time.Time, talk time.Duration, status call.Status) call.Event {
		e := call.Event{Provider: "test", CallID: id, EventKey: "k", ReceivedAt: now, Direction: call.DirectionInbound,
			StartedAt: start, EndedAt: start.Add(talk + 5*time.Second), ClientPhone: "+79160000001", Manager: ext, Status: status}
		if status == call.StatusAnswered {
			e.AnsweredAt = start.Add(5 * time.Second)
		}
		return e
	}
	events := []call.Event{
		mk("1", "101", now.Add(-2*time.Hour), 100*time.Second, call.StatusAnswered),
		mk("2", "999", now.Add(-1*time.Hour), 40*time.Second, call.StatusAnswered), // unconfigured → other
		mk("3", "101", now.Add(-30*time.Minute), 0, call.StatusMissed),
		mk("4", "101", now.Add(-24*time.Hour), 500*time.Second, call.StatusAnswered), // yesterday
	}
	var recs []spool.Record
	for i, e := range events {
		b, _ := e.Marshal()
		recs = append(recs, spool.Record{Seq: uint64(i + 1), Data: b})
	}
	if err := warehouse.NewEventWriter(db, nil, warehouse.NewMetrics(nil), nil).Write(ctx, recs); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	team := analytics.NewTeam([]analytics.Manager{{ID: "alice", Name: "Алиса", Extensions: []string{"101"}}})
	g := analytics.NewGauges(reg, analytics.NewStore(db.Conn(), loc), team, nil)
	g.SetClock(func() time.Time { return now })
	if err := g.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP callpulse_talk_seconds Talk time today (configured time zone) by manager and client category at call time.
# TYPE callpulse_talk_seconds gauge
callpulse_talk_seconds{category="A",manager="alice"} 100
callpulse_talk_seconds{category="A",manager="other"} 40
callpulse_talk_seconds{category="B",manager="alice"} 0
callpulse_talk_seconds{category="B",manager="other"} 0
callpulse_talk_seconds{category="C",manager="alice"} 0
callpulse_talk_seconds{category="C",manager="other"} 0
callpulse_talk_seconds{category="unknown",manager="alice"} 0
callpulse_talk_seconds{category="unknown",manager="other"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "callpulse_talk_seconds"); err != nil {
		t.Error(err)
	}
	wantCalls := `
# HELP callpulse_calls Calls started today (configured time zone) by final status.
# TYPE callpulse_calls gauge
callpulse_calls{status="answered"} 2
callpulse_calls{status="busy"} 0
callpulse_calls{status="cancelled"} 0
callpulse_calls{status="failed"} 0
callpulse_calls{status="missed"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantCalls), "callpulse_calls"); err != nil {
		t.Error(err)
	}

	// Talk time fails (its grade history is gone, as a query over the
	// deadline would fail): the families after it still refresh, talk time
	// keeps its values, and the last-refresh time stays where it was.
	last := valueOf(t, reg, "callpulse_analytics_last_refresh_timestamp_seconds")
	if err := db.Conn().Exec(ctx, "DROP TABLE category_log"); err != nil {
		t.Fatal(err)
	}
	b, _ := mk("5", "101", now.Add(-10*time.Minute), 60*time.Second, call.StatusAnswered).Marshal()
	if err := warehouse.NewEventWriter(db, nil, warehouse.NewMetrics(nil), nil).Write(ctx, []spool.Record{{Seq: 5, Data: b}}); err != nil {
		t.Fatal(err)
	}
	if err := g.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "category_log") {
		t.Fatalf("Refresh without category_log: %v, want talk time's error", err)
	}
	if got := valueOf(t, reg, `callpulse_talk_seconds{category="A",manager="alice"}`); got != 100 {
		t.Errorf("alice's A talk time after its refresh failed: %v, want 100 (kept)", got)
	}
	if got := valueOf(t, reg, `callpulse_calls{status="answered"}`); got != 3 {
		t.Errorf("answered calls after talk time failed: %v, want 3 (refreshed)", got)
	}
	if got := valueOf(t, reg, "callpulse_analytics_last_refresh_timestamp_seconds"); got != last {
		t.Errorf("last refresh moved to %v after a failed refresh", got)
	}
}

// valueOf is the value of one series of reg, written name{label="value",...}
// with the labels in their sorted order, as in the text format.
func valueOf(t *testing.T, reg *prometheus.Registry, series string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			if len(m.GetLabel()) > 0 {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
				name += "{" + strings.Join(labels, ",") + "}"
			}
			if name == series {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s", series)
	return 0
}
