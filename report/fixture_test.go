package report

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/importer"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// The fixture (testdata/fixture) is Sunday 15 November 2026 in Moscow, so
// a report with WeeklyOnMonday has the week 9–15 November too. alice (101)
// and bob (102) talk with A, B and C clients; carol has no calls; one call
// on the 15th is missed; four deals are won or lost around the day.

var moscow = mustLoad("Europe/Moscow")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// fixtureDay is the report's day, at noon.
var fixtureDay = time.Date(2026, 11, 15, 12, 0, 0, 0, moscow)

func testTeam() *analytics.Team {
	return analytics.NewTeam([]analytics.Manager{
		{ID: "alice", Name: "Алиса", Extensions: []string{"101"}},
		{ID: "bob", Name: "Борис", Extensions: []string{"102"}},
		{ID: "carol", Name: "Карина", Extensions: []string{"103"}},
	})
}

var testTargets = analytics.Targets{client.CategoryA: 0.8, client.CategoryB: 0.19, client.CategoryC: 0.01}

var lineSources = map[string]string{"+74951110001": "yandex_direct", "+74951110002": "avito"}

// fixtureDB loads the fixture into a fresh database.
func fixtureDB(t *testing.T) *warehouse.DB {
	t.Helper()
	return fixtureDBOn(t, chtest.NewDatabase(t))
}

// fixtureDBOn loads the fixture into the database of dsn.
func fixtureDBOn(t *testing.T, dsn string) *warehouse.DB {
	t.Helper()
	ctx := context.Background()
	db, err := warehouse.Open(dsn, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	imported := time.Date(2026, 11, 16, 6, 0, 0, 0, time.UTC)
	clients, err := importer.ReadClients(openFixture(t, "clients.csv"), norm)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertClients(ctx, clients, "csv", imported); err != nil {
		t.Fatal(err)
	}
	deals, err := importer.ReadDeals(openFixture(t, "deals.csv"), norm, moscow)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertDeals(ctx, deals, "csv", imported); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(openFixture(t, "calls.csv")).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var recs []spool.Record
	add := func(e call.Event) {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, spool.Record{Seq: uint64(len(recs) + 1), Data: b})
	}
	for _, r := range rows[1:] { // call_id,client_phone,line_phone,manager,start,answered_seconds,talk_seconds
		start, err := time.ParseInLocation(time.DateTime, r[4], moscow)
		if err != nil {
			t.Fatal(err)
		}
		base := call.Event{Provider: "generic", CallID: r[0], ReceivedAt: imported, Direction: call.DirectionInbound}
		begin := base
		begin.EventKey, begin.StartedAt, begin.ClientPhone, begin.LinePhone = "start", start, r[1], r[2]
		add(begin)
		end := base
		end.EventKey, end.Status = "end", call.StatusMissed
		end.EndedAt = start.Add(time.Minute)
		if r[5] != "" {
			answer, _ := strconv.Atoi(r[5])
			talk, _ := strconv.Atoi(r[6])
			end.AnsweredAt = start.Add(time.Duration(answer) * time.Second)
			end.EndedAt = end.AnsweredAt.Add(time.Duration(talk) * time.Second)
			end.Status, end.Manager, end.ManagerRank = call.StatusAnswered, r[3], call.ManagerAnswered
		}
		add(end)
	}
	if err := warehouse.NewEventWriter(db, lineSources, warehouse.NewMetrics(nil), nil).Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	return db
}

func openFixture(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "fixture", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// fakeMissed stands in for the missed-call analytics.
type fakeMissed struct {
	calls []MissedCall
	speed []SpeedRow
}

func (f fakeMissed) Missed(_ context.Context, p analytics.Period, openOnly bool, _ time.Duration) ([]MissedCall, error) {
	var out []MissedCall
	for _, c := range f.calls {
		if !openOnly || c.Open {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f fakeMissed) SpeedToLead(context.Context, analytics.Period, time.Duration) ([]SpeedRow, error) {
	return f.speed, nil
}

// fakeQueue stands in for the scoring package.
type fakeQueue struct{ q Queue }

func (f fakeQueue) Queue(_ context.Context, manager string, limit int) (Queue, error) {
	q := f.q
	q.Leads = nil
	for _, l := range f.q.Leads {
		if manager == "" || l.Manager == manager || (manager == "alice" && l.Manager == "101") {
			q.Leads = append(q.Leads, l)
		}
	}
	if len(q.Leads) > limit {
		q.Leads = q.Leads[:limit]
	}
	return q, nil
}

var testMissed = fakeMissed{
	calls: []MissedCall{
		{Provider: "generic", CallID: "m1", ClientPhone: "+79160000004", Source: "yandex_direct", Owner: "101",
			At: time.Date(2026, 11, 15, 14, 0, 0, 0, moscow), Open: true},
		{Provider: "generic", CallID: "m0", ClientPhone: "+79160000007", Source: "avito", Owner: "bob",
			At: time.Date(2026, 11, 13, 9, 30, 0, 0, moscow), Open: true},
		{Provider: "generic", CallID: "m9", ClientPhone: "+79160000008", Source: "avito", Owner: "102",
			At: time.Date(2026, 11, 15, 9, 0, 0, 0, moscow), CalledBackAt: time.Date(2026, 11, 15, 9, 5, 0, 0, moscow),
			CallbackSeconds: 300, WithinSLA: true},
	},
	speed: []SpeedRow{
		{Manager: "101", Source: "yandex_direct", Leads: 4, Reached: 3, MedianSeconds: 95, P90Seconds: 1260, WithinSLA: 3},
		{Manager: "102", Source: "avito", Leads: 2, Reached: 1, MedianSeconds: 3700, P90Seconds: 3700, WithinSLA: 0},
	},
}

var testQueue = fakeQueue{q: Queue{Threshold: 42.5, ThresholdSource: "learned", Sample: 37, Leads: []QueueLead{
	{Phone: "+79160000011", Name: "Ирина", Source: "vk_ads", Manager: "101", Category: "A", Score: 85,
		LastTouch: time.Date(2026, 11, 14, 16, 0, 0, 0, moscow)},
	{Phone: "+79160000012", Name: "Олег", Source: "avito", Manager: "102", Category: "B", Score: 60},
}}}

// openDB opens another connection (another "replica") to a loaded database.
func openDB(t *testing.T, dsn string) *warehouse.DB {
	t.Helper()
	db, err := warehouse.Open(dsn, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
