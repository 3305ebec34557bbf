package warehouse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/spool"
)

func openTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(chtest.NewDatabase(t), Options{DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

func TestMigrateIsIdempotent(t *testing.T) {
	db := openTestDB(t)
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no migrations embedded")
	}
	applied, err := db.Migrate(context.Background())
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if len(applied) != 0 {
		t.Errorf("second Migrate applied %v, want nothing", applied)
	}
}

var t0 = time.Date(2026, 11, 20, 6, 15, 0, 0, time.UTC)

// endKind is how a test call learns its end.
type endKind int

const (
	endOnPBXClock endKind = iota // an end the PBX timed (a history record)
	endOnArrival                 // only ends taken from arrival (Gravitel's COMPLETED), one retried later
	endOnBoth                    // both: the PBX's end wins over later arrival-time ends
)

// callEvents is a call seen through several partial events, the way a PBX
// reports it: ringing two extensions, answered by one, ended, recording.
// Its end comes as ends says; talk time is 274 s (endOnArrival: 3593 s,
// from the retried end).
func callEvents(id string, ends endKind) []call.Event {
	base := call.Event{Provider: "test", CallID: id, ReceivedAt: t0}
	ev := func(key string, f func(*call.Event)) call.Event {
		e := base
		e.EventKey = key
		f(&e)
		return e
	}
	clockEnd := ev("end", func(e *call.Event) {
		e.EndedAt, e.Status, e.Direction = t0.Add(281*time.Second), call.StatusAnswered, call.DirectionInbound
	})
	arrivalEnd := func(key string, after time.Duration) call.Event {
		return ev(key, func(e *call.Event) {
			e.EndedAt, e.ArrivalEnd, e.Status, e.Manager, e.ManagerRank = t0.Add(after), true, call.StatusAnswered, "102", call.ManagerEnded
		})
	}
	var endEvents []call.Event
	switch ends {
	case endOnPBXClock:
		endEvents = []call.Event{clockEnd}
	case endOnArrival:
		endEvents = []call.Event{arrivalEnd("completed", 282*time.Second), arrivalEnd("completed", time.Hour)}
	case endOnBoth:
		endEvents = []call.Event{arrivalEnd("completed", 282*time.Second), clockEnd, arrivalEnd("completed", time.Hour)}
	}
	return append([]call.Event{
		ev("start", func(e *call.Event) {
			e.Direction, e.StartedAt, e.ClientPhone, e.LinePhone = call.DirectionInbound, t0, "+79161234567", "+74951112233"
		}),
		ev("ring-101", func(e *call.Event) { e.StartedAt, e.Manager = t0, "101" }),
		ev("ring-102", func(e *call.Event) { e.StartedAt, e.Manager = t0, "102" }),
		ev("answer", func(e *call.Event) {
			e.AnsweredAt, e.Manager, e.ManagerRank, e.Status = t0.Add(7*time.Second), "102", call.ManagerAnswered, call.StatusAnswered
		}),
		ev("record", func(e *call.Event) { e.RecordingRef = "rec-" + id }),
	}, endEvents...)
}

func records(t *testing.T, events []call.Event, firstSeq uint64) []spool.Record {
	t.Helper()
	recs := make([]spool.Record, len(events))
	for i, e := range events {
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = spool.Record{Seq: firstSeq + uint64(i), Data: b}
	}
	return recs
}

func readCall(t *testing.T, db *DB, id string) call.Call {
	t.Helper()
	var c call.Call
	var dir, status string
	row := db.conn.QueryRow(context.Background(), `SELECT provider, call_id, toString(direction), started_at, answered_at,
		ended_at, client_phone, line_phone, manager, status, talk_seconds, recording_url, recording_ref
		FROM calls WHERE call_id = ?`, id)
	if err := row.Scan(&c.Provider, &c.CallID, &dir, &c.StartedAt, &c.AnsweredAt, &c.EndedAt, &c.ClientPhone,
		&c.LinePhone, &c.Manager, &status, &c.TalkSeconds, &c.RecordingURL, &c.RecordingRef); err != nil {
		t.Fatalf("read call %s: %v", id, err)
	}
	c.Direction, _ = call.ParseDirection(dir)
	c.Status, _ = call.ParseStatus(status)
	for _, ts := range []*time.Time{&c.StartedAt, &c.AnsweredAt, &c.EndedAt} {
		if ts.Unix() == 0 {
			*ts = time.Time{}
		} else {
			*ts = ts.UTC()
		}
	}
	return c
}

// TestCallsViewFoldsLikeGo delivers each call's events three times in a
// random order, in several batches, and checks the SQL fold equals call.Fold.
func TestCallsViewFoldsLikeGo(t *testing.T) {
	db := openTestDB(t)
	w := NewEventWriter(db, map[string]string{"+74951112233": "yandex_direct"}, NewMetrics(nil), nil)
	rng := rand.New(rand.NewPCG(1, 2))
	talk := map[endKind]uint32{endOnPBXClock: 274, endOnArrival: 3593, endOnBoth: 274}
	for i := 0; i < 6; i++ {
		id := fmt.Sprintf("call-%d", i)
		ends := endKind(i % 3)
		events := callEvents(id, ends)
		var delivered []call.Event
		for range 3 {
			delivered = append(delivered, events...)
		}
		rng.Shuffle(len(delivered), func(a, b int) { delivered[a], delivered[b] = delivered[b], delivered[a] })
		for start := 0; start < len(delivered); start += 5 {
			end := min(start+5, len(delivered))
			if err := w.Write(context.Background(), records(t, delivered[start:end], uint64(start+1))); err != nil {
				t.Fatalf("Write: %v", err)
			}
		}
		want := call.Fold(events)
		if got := readCall(t, db, id); got != want {
			t.Errorf("call %s:\n SQL %+v\n  Go %+v", id, got, want)
		}
		if want.Manager != "102" || want.TalkSeconds != talk[ends] || want.Status != call.StatusAnswered {
			t.Errorf("fold rules changed: %+v", want)
		}
	}
}

func TestUpsertClientsKeepsHistory(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	day1 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	a := client.Client{Phone: "+79161234567", Category: client.CategoryA}
	b := client.Client{Phone: "+79167654321", Category: client.CategoryB}
	if err := db.UpsertClients(ctx, []client.Client{a, b}, "csv", day1); err != nil {
		t.Fatal(err)
	}
	// Day 2: a unchanged, b becomes C, a third client without a grade.
	b.Category = client.CategoryC
	u := client.Client{Phone: "+79260000001"}
	if err := db.UpsertClients(ctx, []client.Client{a, b, u}, "csv", day2); err != nil {
		t.Fatal(err)
	}
	// Day 2 again, b ungraded this time: its category stays C.
	b.Category = client.CategoryUnknown
	if err := db.UpsertClients(ctx, []client.Client{b}, "csv", day2.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := db.conn.QueryRow(ctx, "SELECT count() FROM client_categories FINAL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("history rows = %d, want 3 (a:A, b:B, b:C)", n)
	}
	cur, err := db.CurrentCategories(ctx, []string{a.Phone, b.Phone, u.Phone})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]client.Category{a.Phone: client.CategoryA, b.Phone: client.CategoryC}
	if fmt.Sprint(cur) != fmt.Sprint(want) {
		t.Errorf("current = %v, want %v", cur, want)
	}
	var cat string
	if err := db.conn.QueryRow(ctx, "SELECT toString(category) FROM clients FINAL WHERE phone = ?", b.Phone).Scan(&cat); err != nil {
		t.Fatal(err)
	}
	if cat != "C" {
		t.Errorf("clients.category of b = %s, want C (ungraded import keeps the known grade)", cat)
	}
}

// TestLargeSetsInQueries: the analytics pass a period's leads as a set
// in the query text; 50,000 phones are about 800 KiB of SQL, over
// ClickHouse's default max_query_size.
func TestLargeSetsInQueries(t *testing.T) {
	db := openTestDB(t)
	phones := make([]any, 50_000)
	for i := range phones {
		phones[i] = fmt.Sprintf("+7916%07d", i)
	}
	var n uint64
	err := db.Conn().QueryRow(context.Background(), "SELECT count() FROM system.one WHERE '+79169999999' NOT IN @phones",
		clickhouse.Named("phones", clickhouse.GroupSet{Value: phones})).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("a query with 50,000 phones in a set: %d, %v", n, err)
	}
}
