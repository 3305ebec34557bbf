package analytics_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/importer"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// The callbacks scenario (testdata/callbacks): calls, clients and deals
// around the period 10–12 November 2026 in Moscow (UTC+3), i.e.
// [2026-11-09T21:00Z, 2026-11-12T21:00Z). Lines: …0001 yandex_direct,
// …0002 avito, …0009 no source. Managers: alice (101, 103), bob (102).
// clients.csv is imported on 20 Nov (after every call), clients_before.csv
// on 5 Nov. Every answered call is answered 10 s after it starts unless
// calls.csv says otherwise. SLA 15 min = 900 s.
//
//	phone  story                                                     missed-call answer
//	P1     missed 10 Nov 09:00, called back 09:10:00 (bob)           600 s, within; owner bob (clients row)
//	P2     answered 1 Nov (102) and 5 Nov (103); missed 10 Nov 10:00,
//	       called back 10:15:01                                      901 s, past SLA; owner alice (103, latest answered before)
//	P3     missed 11 Nov 12:00 on the no-source line; our outbound
//	       call at 12:05 was busy                                    open; owner ""; source avito (client's first line)
//	P4     missed 18:00, 18:05, 18:20, called in again 18:30 (101)   1800, 1500, 600 s; owner alice; source yandex (line beats vk_ads)
//	P5     missed 12 Nov 23:59:59, called back 13 Nov 00:09:59       600 s, within (callback after the period)
//	P6     missed 9 Nov 23:59:59 and 13 Nov 00:00:00                 outside the period
//	       (our outbound call in the second of the second one,      9 Nov: called back 13 Nov 00:00:00;
//	       answered by 103, calls back the first, and neither       13 Nov: open, owner "" (not before it)
//	       calls back nor owns the second)
//	P7     inbound busy 11 Nov 15:00                                 open; owner bob (clients row)
//	P8     inbound still ringing (no final status)                   not missed
//	P9     imported 5 Nov (source partner), first call 11 Nov 11:00  a repeat caller and a new lead
//	P10    missed 13 Nov 09:50, clients row manager 555              open, owner "other" in metrics
//	P12    missed 6 Nov                                              outside the gauges' 7 days
//	P13    inbound 10 Nov 11:00 (yandex) answered by 101 while our   speed 10 s, reached by 101 (of two in
//	       outbound at the same second was answered by 103, both     one second, the smaller manager);
//	       after 10 s; 11 Nov 09:00 missed, and answered on avito    open; owner alice (103: the larger of
//	       by 102 in the same second                                 the two, the 09:00 call not before it)
//	P14    inbound 12 Nov 14:00 answered by 101 while our outbound   open; owner alice (103: the larger of
//	       at the same second was answered by 103; missed 15:00      the two latest answered, from the rollup)
//	L1–L3  inbound answered after 10, 20, 40 s (L3 on 103)
//	L4     missed 12 Nov 13:00, called back 13:30:00 (101)           1800 s
//	D1     deal (seo, won) 11 Nov 10:00, first call 10:20 by bob     speed 1210 s
//	D2     deal (seo) 12 Nov 09:00, responsible bob; missed 16:00 on  open; owner bob; source seo (its deal's)
//	       the no-source line, never called back
//	D3     deal 1 Nov, inbound call 12 Nov 15:00                     a repeat caller
//	O1     our outbound call 11 Nov 14:00 is the first contact       not a speed-to-lead lead
var (
	callbackLines = map[string]string{"+74951110001": "yandex_direct", "+74951110002": "avito"}
	callbackTeam  = analytics.NewTeam([]analytics.Manager{
		{ID: "alice", Name: "Алиса", Extensions: []string{"101", "103"}},
		{ID: "bob", Name: "Борис", Extensions: []string{"102"}},
	})
	testSLA = 15 * time.Minute
)

// callbacksStore loads the scenario into a fresh database the way
// production does: CSV files through the importer, calls as partial events
// through the spool writer.
func callbacksStore(t *testing.T) *analytics.Store {
	t.Helper()
	return analytics.NewStore(callbacksDB(t, everyCall).Conn(), moscow)
}

// everyCall keeps every call of the scenario.
func everyCall(time.Time) bool { return true }

// callbackStores are the scenario's store read through the calls view (no
// snapshot yet), read from a snapshot of the rollups with every call, and
// read from a snapshot taken before the calls from 11 November on, which
// arrived since: then every phone they touch is folded afresh (its
// managers, first reach and callbacks included) and joined with the
// snapshot's rows of the rest; and read after a second refresh took those
// calls in (a delta: their phones' rollup rows written from their calls).
func callbackStores(t *testing.T) map[string]*analytics.Store {
	t.Helper()
	ctx := context.Background()
	refresh := func(db *warehouse.DB) {
		t.Helper()
		settle(t, db)
		if _, err := analytics.NewRollup(db.Conn(), analytics.RollupOptions{Zone: moscow, Margin: time.Nanosecond}).
			Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	db := callbacksDB(t, everyCall)
	refresh(db)
	since := msk(t, "2026-11-11 00:00:00")
	split := callbacksDB(t, func(start time.Time) bool { return start.Before(since) })
	refresh(split)
	later := callRecords(t, func(start time.Time) bool { return !start.Before(since) })
	splitAgain := callbacksDB(t, func(start time.Time) bool { return start.Before(since) })
	refresh(splitAgain)
	for _, db := range []*warehouse.DB{split, splitAgain} {
		if err := warehouse.NewEventWriter(db, callbackLines, warehouse.NewMetrics(nil), nil).Write(ctx, later); err != nil {
			t.Fatal(err)
		}
	}
	refresh(splitAgain)
	return map[string]*analytics.Store{
		"no snapshot":                 callbacksStore(t),
		"snapshot":                    analytics.NewStore(db.Conn(), moscow),
		"snapshot, later calls since": analytics.NewStore(split.Conn(), moscow),
		"later calls refreshed in":    analytics.NewStore(splitAgain.Conn(), moscow),
	}
}

// callbacksDB is a database with the scenario's clients, deals and the
// calls whose start keep accepts.
func callbacksDB(t *testing.T, keep func(start time.Time) bool) *warehouse.DB {
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
	for _, f := range []struct {
		name string
		at   time.Time
	}{
		{"clients_before.csv", time.Date(2026, 11, 5, 12, 0, 0, 0, moscow)},
		{"clients.csv", time.Date(2026, 11, 20, 12, 0, 0, 0, moscow)},
	} {
		clients, err := importer.ReadClients(callbacksFixture(t, f.name), norm)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if err := db.UpsertClients(ctx, clients, "csv", f.at); err != nil {
			t.Fatal(err)
		}
	}
	deals, err := importer.ReadDeals(callbacksFixture(t, "deals.csv"), norm, moscow)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertDeals(ctx, deals, "csv", time.Date(2026, 11, 20, 12, 0, 0, 0, moscow)); err != nil {
		t.Fatal(err)
	}
	if err := warehouse.NewEventWriter(db, callbackLines, warehouse.NewMetrics(nil), nil).Write(ctx, callRecords(t, keep)); err != nil {
		t.Fatal(err)
	}
	return db
}

// callRecords turns the calls of testdata/callbacks/calls.csv whose start
// keep accepts into spool records: a start event with the phones, and,
// unless the status is "none" (still ringing), an end event with the
// outcome and the manager.
func callRecords(t *testing.T, keep func(start time.Time) bool) []spool.Record {
	t.Helper()
	table, err := csv.NewReader(callbacksFixture(t, "calls.csv")).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2026, 11, 20, 12, 0, 0, 0, moscow)
	var recs []spool.Record
	add := func(e call.Event) {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, spool.Record{Seq: uint64(len(recs) + 1), Data: b})
	}
	for _, row := range table[1:] {
		id, dir, client, line, startS, answerAfter, statusS, manager := row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
		direction, err := call.ParseDirection(dir)
		if err != nil {
			t.Fatal(err)
		}
		start, err := time.ParseInLocation(time.DateTime, startS, moscow)
		if err != nil {
			t.Fatal(err)
		}
		if !keep(start) {
			continue
		}
		base := call.Event{Provider: "generic", CallID: id, ReceivedAt: received, Direction: direction}
		begin := base
		begin.EventKey, begin.StartedAt, begin.ClientPhone, begin.LinePhone, begin.Manager = "start", start, client, line, manager
		add(begin)
		if statusS == "none" {
			continue
		}
		status, err := call.ParseStatus(statusS)
		if err != nil {
			t.Fatal(err)
		}
		end := base
		end.EventKey, end.Status, end.EndedAt, end.Manager, end.ManagerRank = "end", status, start.Add(3*time.Minute), manager, call.ManagerEnded
		if answerAfter != "" {
			secs, err := strconv.Atoi(answerAfter)
			if err != nil {
				t.Fatal(err)
			}
			end.AnsweredAt, end.ManagerRank = start.Add(time.Duration(secs)*time.Second), call.ManagerAnswered
		}
		add(end)
	}
	return recs
}

func callbacksFixture(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "callbacks", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// msk is a Moscow wall-clock time.
func msk(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.ParseInLocation(time.DateTime, s, moscow)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func TestMissed(t *testing.T) {
	stores := callbackStores(t)
	// called back; open
	back := func(provider, id, phone, source, owner, at, backAt string, secs int64) analytics.MissedCall {
		return analytics.MissedCall{Provider: provider, CallID: id, ClientPhone: phone, Source: source, Owner: owner,
			At: msk(t, at), CalledBackAt: msk(t, backAt), CallbackSeconds: secs, WithinSLA: secs <= 900}
	}
	open := func(id, phone, source, owner, at string) analytics.MissedCall {
		return analytics.MissedCall{Provider: "generic", CallID: id, ClientPhone: phone, Source: source, Owner: owner,
			At: msk(t, at), CallbackSeconds: -1, Open: true}
	}
	p3 := open("p3-missed", "+79161000003", "avito", "", "2026-11-11 12:00:00")
	p7 := open("p7-busy", "+79161000007", "avito", "102", "2026-11-11 15:00:00")
	p13 := open("p13-missed", "+79161000013", "yandex_direct", "103", "2026-11-11 09:00:00")
	d2 := open("d2-missed", "+79161000022", "seo", "102", "2026-11-12 16:00:00")
	// Its latest answered calls, 14:00, by 101 and 103: the larger owns it.
	p14 := open("p14-missed", "+79161000014", "yandex_direct", "103", "2026-11-12 15:00:00")
	all := []analytics.MissedCall{
		back("generic", "p1-missed", "+79161000001", "yandex_direct", "102", "2026-11-10 09:00:00", "2026-11-10 09:10:00", 600),
		back("generic", "p2-missed", "+79161000002", "avito", "103", "2026-11-10 10:00:00", "2026-11-10 10:15:01", 901),
		p13,
		p3,
		p7,
		back("generic", "p4-m1", "+79161000004", "yandex_direct", "101", "2026-11-11 18:00:00", "2026-11-11 18:30:00", 1800),
		back("generic", "p4-m2", "+79161000004", "yandex_direct", "101", "2026-11-11 18:05:00", "2026-11-11 18:30:00", 1500),
		back("generic", "p4-m3", "+79161000004", "yandex_direct", "101", "2026-11-11 18:20:00", "2026-11-11 18:30:00", 600),
		back("generic", "l4-missed", "+79161000044", "yandex_direct", "", "2026-11-12 13:00:00", "2026-11-12 13:30:00", 1800),
		p14,
		d2,
		back("generic", "p5-missed", "+79161000005", "yandex_direct", "", "2026-11-12 23:59:59", "2026-11-13 00:09:59", 600),
	}
	tests := []struct {
		name     string
		from, to string
		openOnly bool
		want     []analytics.MissedCall
	}{
		{"scenario period", "2026-11-10", "2026-11-12", false, all},
		{"open only", "2026-11-10", "2026-11-12", true, []analytics.MissedCall{p13, p3, p7, p14, d2}},
		{"the day before: 23:59:59 Moscow", "2026-11-09", "2026-11-09", false, []analytics.MissedCall{
			// Called back by the outbound call at 13 Nov 00:00:00.
			back("generic", "p6-before", "+79161000006", "yandex_direct", "", "2026-11-09 23:59:59", "2026-11-13 00:00:00", 259201),
		}},
		{"the day after: 00:00:00 Moscow", "2026-11-13", "2026-11-13", false, []analytics.MissedCall{
			open("p6-after", "+79161000006", "yandex_direct", "", "2026-11-13 00:00:00"),
			open("p10-missed", "+79161000010", "yandex_direct", "555", "2026-11-13 09:50:00"),
		}},
		{"the day after, open only", "2026-11-13", "2026-11-13", true, []analytics.MissedCall{
			open("p6-after", "+79161000006", "yandex_direct", "", "2026-11-13 00:00:00"),
			open("p10-missed", "+79161000010", "yandex_direct", "555", "2026-11-13 09:50:00"),
		}},
		{"nothing", "2026-12-01", "2026-12-31", false, nil},
	}
	for kind, store := range stores {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				got, err := store.Missed(context.Background(), period(t, tt.from, tt.to), tt.openOnly, testSLA)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("Missed: got %d calls, want %d:\n got %+v\nwant %+v", len(got), len(tt.want), got, tt.want)
				}
				for i := range got {
					if !sameMissed(got[i], tt.want[i]) {
						t.Errorf("call %d:\n got %+v\nwant %+v", i, got[i], tt.want[i])
					}
				}
				// Open only (from the phone rollup where it can) is
				// always the open ones of all (every callback searched).
				p := period(t, tt.from, tt.to)
				open, err := store.Missed(context.Background(), p, true, testSLA)
				if err != nil {
					t.Fatal(err)
				}
				all, err := store.Missed(context.Background(), p, false, testSLA)
				if err != nil {
					t.Fatal(err)
				}
				all = slices.DeleteFunc(all, func(m analytics.MissedCall) bool { return !m.Open })
				if !slices.EqualFunc(open, all, sameMissed) {
					t.Errorf("open only is not the open ones of all:\n open %+v\n  all %+v", open, all)
				}
			})
		}
	}
}

// sameMissed compares two missed calls, times as instants.
func sameMissed(a, b analytics.MissedCall) bool {
	if !a.At.Equal(b.At) || !a.CalledBackAt.Equal(b.CalledBackAt) || a.At.Location() != moscow {
		return false
	}
	a.At, b.At, a.CalledBackAt, b.CalledBackAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func TestSpeedToLead(t *testing.T) {
	stores := callbackStores(t)
	row := func(manager, source string, leads, reached uint64, median, p90 float64, within uint64) analytics.SpeedRow {
		return analytics.SpeedRow{Manager: manager, Source: source, Leads: leads, Reached: reached,
			MedianSeconds: median, P90Seconds: p90, WithinSLA: within}
	}
	tests := []struct {
		name     string
		from, to string
		team     *analytics.Team
		want     []analytics.SpeedRow
	}{
		{"scenario period by manager", "2026-11-10", "2026-11-12", callbackTeam, []analytics.SpeedRow{
			row("", "avito", 1, 0, 0, 0, 0),                  // P3, not reached
			row("", "yandex_direct", 1, 0, 0, 0, 0),          // P8, still ringing
			row("alice", "vk_ads", 1, 1, 1810, 1810, 0),      // P4: 18:00 → answered 18:30:10
			row("alice", "yandex_direct", 6, 6, 20, 1810, 5), // L1–L4, P13, P14: 10, 20, 40, 1810, 10, 10 s; ⌊0.5·6⌋ = 3, ⌊0.9·6⌋ = 5
			row("bob", "avito", 1, 0, 0, 0, 0),               // P7, responsible bob
			row("bob", "partner", 1, 1, 10, 10, 1),           // P9
			row("bob", "seo", 2, 1, 1210, 1210, 0),           // D1: deal 10:00 → 10:20:10; D2 not called
			row("bob", "yandex_direct", 2, 2, 610, 610, 2),   // P1, P5: callbacks answered 10 s after dialling
		}},
		{"no team: extensions on their own", "2026-11-10", "2026-11-12", nil, []analytics.SpeedRow{
			row("", "avito", 1, 0, 0, 0, 0),
			row("", "yandex_direct", 1, 0, 0, 0, 0),
			row("101", "vk_ads", 1, 1, 1810, 1810, 0),
			row("101", "yandex_direct", 5, 5, 10, 1810, 4), // L1, L2, L4, P13, P14 (answered by 101 and 103 in one second: the smaller)
			row("102", "avito", 1, 0, 0, 0, 0),
			row("102", "partner", 1, 1, 10, 10, 1),
			row("102", "seo", 2, 1, 1210, 1210, 0),
			row("102", "yandex_direct", 2, 2, 610, 610, 2),
			row("103", "yandex_direct", 1, 1, 40, 40, 1), // L3
		}},
		{"first day only: L1 at 00:00:00 Moscow", "2026-11-10", "2026-11-10", callbackTeam, []analytics.SpeedRow{
			row("alice", "yandex_direct", 2, 2, 10, 10, 2), // L1, P13
			row("bob", "yandex_direct", 1, 1, 610, 610, 1), // P1
		}},
		{"nothing", "2026-12-01", "2026-12-31", callbackTeam, nil},
	}
	for stage, store := range stores {
		for _, tt := range tests {
			t.Run(stage+"/"+tt.name, func(t *testing.T) {
				got, err := store.SpeedToLead(context.Background(), period(t, tt.from, tt.to), testSLA, tt.team)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("SpeedToLead:\n got %+v\nwant %+v", got, tt.want)
				}
			})
		}
	}
}

func TestRepeatCallers(t *testing.T) {
	stores := callbackStores(t)
	repeat := func(id, phone, source, at, since string) analytics.RepeatCall {
		return analytics.RepeatCall{Provider: "generic", CallID: id, ClientPhone: phone, Source: source,
			At: msk(t, at), KnownSince: msk(t, since)}
	}
	tests := []struct {
		name     string
		from, to string
		want     []analytics.RepeatCall
	}{
		{"scenario period", "2026-11-10", "2026-11-12", []analytics.RepeatCall{
			repeat("p2-missed", "+79161000002", "avito", "2026-11-10 10:00:00", "2026-11-01 10:00:00"),     // first call
			repeat("p9-in", "+79161000009", "avito", "2026-11-11 11:00:00", "2026-11-05 12:00:00"),         // clients row
			repeat("d3-in", "+79161000023", "yandex_direct", "2026-11-12 15:00:00", "2026-11-01 12:00:00"), // deal
		}},
		{"the day after: known since 23:59:59 the day before the period", "2026-11-13", "2026-11-13", []analytics.RepeatCall{
			repeat("p6-after", "+79161000006", "yandex_direct", "2026-11-13 00:00:00", "2026-11-09 23:59:59"),
		}},
		{"nothing", "2026-12-01", "2026-12-31", nil},
	}
	for kind, store := range stores {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				got, err := store.RepeatCallers(context.Background(), period(t, tt.from, tt.to))
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("RepeatCallers: got %+v\nwant %+v", got, tt.want)
				}
				for i := range got {
					g, w := got[i], tt.want[i]
					if !g.At.Equal(w.At) || !g.KnownSince.Equal(w.KnownSince) {
						t.Errorf("call %d times: got %v, %v; want %v, %v", i, g.At, g.KnownSince, w.At, w.KnownSince)
					}
					g.At, g.KnownSince, w.At, w.KnownSince = time.Time{}, time.Time{}, time.Time{}, time.Time{}
					if g != w {
						t.Errorf("call %d:\n got %+v\nwant %+v", i, g, w)
					}
				}
			})
		}
	}
}
