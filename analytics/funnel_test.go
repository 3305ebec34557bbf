package analytics_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/deal"
	"github.com/callpulse/callpulse/importer"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// The funnel scenario: the period is 10–12 November 2026 in Moscow (UTC+3),
// i.e. [2026-11-09T21:00Z, 2026-11-12T21:00Z). Edge times are chosen so that
// a query using UTC days instead of Moscow days gets them wrong.
//
// Lines: +74951110001 is yandex_direct, +74951110002 avito, +74951110009
// has no source. The clients and deals come from testdata/funnel.
//
//	client  first contact             lead?  source (why)                reached  qual.  won
//	C1      call 10 Nov 00:00:00      yes    vk_ads (CSV beats the line) yes      A      45000.50
//	C2      call 12 Nov 23:59:59      yes    yandex_direct (line)        no       -      -
//	C3      call 13 Nov 00:00:00      no (a lead of 13 Nov)
//	C4      call 9 Nov 23:59:59       no, though called and dealt with in the period
//	C5      call 11 Nov, no-source line  yes avito (first line with one) yes, on 15 Nov  B
//	C6      deal 11 Nov (CRM lead)    yes    seo (deal)                  no       -      -
//	C7      call 1 Nov                no (deal 7 created in the period)
//	C8      deal 5 Nov                no (first call in the period)
//	C9      deal 10 Nov 00:00         yes    vk_ads (CSV)                yes      C      10000.00
//	C10     call 12 Nov               yes    unknown                     yes      -      -
//	C11     call 11 Nov               yes    seo (deal beats the line)   no       -      -
var (
	yandexLine = "+74951110001"
	avitoLine  = "+74951110002"
	plainLine  = "+74951110009"
	lineSource = map[string]string{yandexLine: "yandex_direct", avitoLine: "avito"}
)

// funnelCall is one call of the scenario.
type funnelCall struct {
	id       string
	client   string
	line     string
	start    string // Moscow time
	answered bool
}

var funnelCalls = []funnelCall{
	{"c1-first", "+79160000001", yandexLine, "2026-11-10 00:00:00", true},
	{"c2-first", "+79160000002", yandexLine, "2026-11-12 23:59:59", false},
	{"c3-first", "+79160000003", yandexLine, "2026-11-13 00:00:00", true},
	{"c4-first", "+79160000004", avitoLine, "2026-11-09 23:59:59", false},
	{"c4-again", "+79160000004", yandexLine, "2026-11-11 10:00:00", true},
	{"c5-first", "+79160000005", plainLine, "2026-11-11 10:00:00", false},
	{"c5-later", "+79160000005", avitoLine, "2026-11-15 11:00:00", true},
	{"c7-first", "+79160000007", yandexLine, "2026-11-01 10:00:00", true},
	{"c8-first", "+79160000008", yandexLine, "2026-11-11 10:00:00", true},
	{"c9-first", "+79160000009", avitoLine, "2026-11-10 12:00:00", true},
	{"c10-first", "+79160000010", plainLine, "2026-11-12 09:00:00", true},
	{"c11-first", "+79160000011", yandexLine, "2026-11-11 14:00:00", false},
}

var moscow = mustLoad("Europe/Moscow")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// funnelStore loads the scenario into a fresh database the way production
// does: CSV files through the importer, calls as events through the spool
// writer (each call as partial events: start with the phones, answer and
// end without them). It returns the store and the database.
func funnelStore(t *testing.T) (*analytics.Store, *warehouse.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := warehouse.Open(chtest.NewDatabase(t), warehouse.Options{})
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
	imported := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	clients, err := importer.ReadClients(openFixture(t, "clients.csv"), norm)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertClients(ctx, clients, "csv", imported); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"deals.csv", "deals_update.csv"} {
		deals, err := importer.ReadDeals(openFixture(t, name), norm, moscow)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := db.UpsertDeals(ctx, deals, "csv", imported.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}

	var recs []spool.Record
	add := func(e call.Event) {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, spool.Record{Seq: uint64(len(recs) + 1), Data: b})
	}
	for _, c := range funnelCalls {
		start, err := time.ParseInLocation(time.DateTime, c.start, moscow)
		if err != nil {
			t.Fatal(err)
		}
		base := call.Event{Provider: "generic", CallID: c.id, ReceivedAt: imported, Direction: call.DirectionInbound}
		begin := base
		begin.EventKey, begin.StartedAt, begin.ClientPhone, begin.LinePhone = "start", start, c.client, c.line
		add(begin)
		end := base
		end.EventKey, end.EndedAt, end.Status = "end", start.Add(3*time.Minute), call.StatusMissed
		if c.answered {
			end.AnsweredAt, end.Status, end.Manager, end.ManagerRank = start.Add(10*time.Second), call.StatusAnswered, "101", call.ManagerAnswered
		}
		add(end)
	}
	if err := warehouse.NewEventWriter(db, lineSource, warehouse.NewMetrics(nil), nil).Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	return analytics.NewStore(db.Conn(), moscow), db
}

func openFixture(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "funnel", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func period(t *testing.T, from, to string) analytics.Period {
	t.Helper()
	p, err := analytics.ParsePeriod(from, to, moscow)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSources checks the scenario's funnel, from the calls view (no
// snapshot yet: SourcesRaw's query), from a snapshot taken as the calls
// arrived (those in its last second are folded by the query), and from a
// snapshot with all of them (the phone rollup alone), and that SourcesRaw
// agrees each time.
func TestSources(t *testing.T) {
	store, db := funnelStore(t)
	rollup := analytics.NewRollup(db.Conn(), analytics.RollupOptions{Zone: moscow, Margin: time.Nanosecond})
	refresh := func() {
		if _, err := rollup.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		from, to string
		want     []analytics.SourceRow
	}{
		{"scenario period", "2026-11-10", "2026-11-12", []analytics.SourceRow{
			{Source: "seo", Leads: 2}, // C6, C11
			{Source: "vk_ads", Leads: 2, Reached: 2, Qualified: 1, Won: 2, Revenue: 5500050}, // C1, C9
			{Source: "avito", Leads: 1, Reached: 1, Qualified: 1},                            // C5
			{Source: "unknown", Leads: 1, Reached: 1},                                        // C10
			{Source: "yandex_direct", Leads: 1},                                              // C2
		}},
		{"the day after: the call at 00:00:00", "2026-11-13", "2026-11-13", []analytics.SourceRow{
			{Source: "yandex_direct", Leads: 1, Reached: 1}, // C3
		}},
		{"the day before: the call at 23:59:59, reached later", "2026-11-09", "2026-11-09", []analytics.SourceRow{
			{Source: "avito", Leads: 1, Reached: 1}, // C4
		}},
		{"C8's deal opened on 5 Nov", "2026-11-05", "2026-11-05", []analytics.SourceRow{
			{Source: "yandex_direct", Leads: 1, Reached: 1}, // C8: the deal has no source, the first call's line does
		}},
		{"nothing", "2026-12-01", "2026-12-31", nil},
	}
	stages := []struct {
		name    string
		prepare func()
	}{
		{"no snapshot", func() {}},
		{"first snapshot", refresh},
		{"snapshot with every call", func() { settle(t, db); refresh() }},
	}
	for _, st := range stages {
		st.prepare()
		for _, tt := range tests {
			t.Run(st.name+"/"+tt.name, func(t *testing.T) {
				p := period(t, tt.from, tt.to)
				got, err := store.Sources(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Sources:\n got %+v\nwant %+v", got, tt.want)
				}
				raw, err := store.SourcesRaw(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(raw, tt.want) {
					t.Errorf("SourcesRaw:\n got %+v\nwant %+v", raw, tt.want)
				}
			})
		}
	}
}

// TestSourcesSeeImports checks that imports — a source and a grade for
// two leads that had neither, a won deal for one of them, and a deal of a
// phone never called — show in the next funnel of the same Store at once:
// Sources keeps the client rows and the deal facts between queries while
// their tables are unchanged.
func TestSourcesSeeImports(t *testing.T) {
	store, db := funnelStore(t)
	ctx := context.Background()
	settle(t, db) // every call in the snapshot: none read as changed since
	if _, err := analytics.NewRollup(db.Conn(), analytics.RollupOptions{Zone: moscow, Margin: time.Nanosecond}).
		Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	p := period(t, "2026-11-10", "2026-11-12")
	if _, err := store.Sources(ctx, p); err != nil { // reads and keeps the client rows and deal facts
		t.Fatal(err)
	}
	imported := []client.Client{
		{Phone: "+79160000002", Name: "C2", Category: client.CategoryA, Source: "exhibition"},
		{Phone: "+79160000010", Name: "C10", Category: client.CategoryB},
	}
	if err := db.UpsertClients(ctx, imported, "csv", time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 11, 10, 0, 0, 0, moscow)
	deals := []deal.Deal{
		// C10 wins a deal; a phone never called opens one in the period.
		{ID: "10", Phone: "+79160000010", Stage: deal.StageWon, Amount: 70000, CreatedAt: created,
			ClosedAt: created.Add(time.Hour)},
		{ID: "20", Phone: "+79160000020", Stage: deal.StageOpen, Source: "partner", CreatedAt: created},
	}
	if err := db.UpsertDeals(ctx, deals, "csv", time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	want := []analytics.SourceRow{
		{Source: "seo", Leads: 2},
		{Source: "vk_ads", Leads: 2, Reached: 2, Qualified: 1, Won: 2, Revenue: 5500050},
		{Source: "avito", Leads: 1, Reached: 1, Qualified: 1},
		{Source: "exhibition", Leads: 1, Qualified: 1},                                  // C2, from yandex_direct (its line)
		{Source: "partner", Leads: 1},                                                   // the new deal's phone
		{Source: "unknown", Leads: 1, Reached: 1, Qualified: 1, Won: 1, Revenue: 70000}, // C10, now graded B, won
	}
	got, err := store.Sources(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Sources after the import:\n got %+v\nwant %+v", got, want)
	}
	raw, err := store.SourcesRaw(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(raw, want) {
		t.Errorf("SourcesRaw after the import:\n got %+v\nwant %+v", raw, want)
	}
}

func TestBuildSourcesReport(t *testing.T) {
	p := period(t, "2026-11-10", "2026-11-12")
	rep := analytics.BuildSourcesReport(p, []analytics.SourceRow{
		{Source: "vk_ads", Leads: 3, Reached: 2, Qualified: 1, Won: 1, Revenue: 4500050},
		{Source: "seo", Leads: 1},
	})
	want := analytics.SourcesReport{From: "2026-11-10", To: "2026-11-12", Timezone: "Europe/Moscow", Sources: []analytics.SourceLine{
		{Source: "vk_ads", Leads: 3, Reached: 2, Qualified: 1, Won: 1, Revenue: 4500050, UnreachableRate: 1.0 / 3, Conversion: 1.0 / 3},
		{Source: "seo", Leads: 1, UnreachableRate: 1},
	}}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("report:\n got %+v\nwant %+v", rep, want)
	}
}
