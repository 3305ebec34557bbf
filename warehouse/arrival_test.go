package warehouse

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/internal/chtest"
)

// arrivalEndsVersion is the migration that separates arrival-time ends.
const arrivalEndsVersion = 10

// TestArrivalEndsMigration upgrades a store holding calls to migration
// 0010: every stored call folds as before, in the calls view and in
// calls_agg; running 0010 again changes nothing; new events fold by the
// new end rule, and a late arrival-time end of a stored call changes
// nothing.
func TestArrivalEndsMigration(t *testing.T) {
	ctx := context.Background()
	db, err := Open(chtest.NewDatabase(t), Options{DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(m Migration) bool { return m.Version == arrivalEndsVersion })
	if i < 0 {
		t.Fatalf("no migration %04d", arrivalEndsVersion)
	}
	migrateOnly(t, db, all[:i])

	// What the writer stored before 0010: every end in ended_at.
	stored := map[string][]call.Event{}
	var seq uint64
	for _, ends := range []endKind{endOnPBXClock, endOnArrival, endOnBoth} {
		id := "old-" + []string{"clock", "arrival", "both"}[ends]
		stored[id] = callEvents(id, ends)
		seq = writeBefore0010(t, db, stored[id], seq)
	}
	before := map[string]call.Call{}
	for id, evs := range stored {
		before[id] = readCall(t, db, id)
		if want := foldBefore0010(evs); before[id] != want {
			t.Fatalf("call %s before 0010:\n SQL %+v\nfold %+v", id, before[id], want)
		}
	}

	applied, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if !slices.Contains(applied, arrivalEndsVersion) {
		t.Fatalf("Migrate applied %v, want %d among them", applied, arrivalEndsVersion)
	}
	checkStored := func(stage string) {
		t.Helper()
		for id, want := range before {
			if got := readCall(t, db, id); got != want {
				t.Errorf("%s: call %s:\n now %+v\nwas %+v", stage, id, got, want)
			}
		}
		checkAggFoldsLikeView(t, db, stage)
	}
	checkStored("after 0010")

	// An interrupted or concurrent run applies every statement again.
	for j, stmt := range all[i].Statements {
		if err := db.execMigration(ctx, stmt); err != nil {
			t.Fatalf("0010 statement %d again: %v", j+1, err)
		}
	}
	checkStored("after 0010 ran again")

	// New events: a new call with both kinds of ends, and a late COMPLETED
	// of a stored call, which has PBX-clock ends.
	w := NewEventWriter(db, nil, NewMetrics(nil), nil)
	fresh := callEvents("new-both", endOnBoth)
	late := stored["old-arrival"][len(stored["old-arrival"])-1]
	late.EndedAt = late.EndedAt.Add(24 * time.Hour)
	if err := w.Write(ctx, records(t, append(fresh, late), seq+1)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	checkStored("after new events")
	want := call.Fold(fresh)
	if got := readCall(t, db, "new-both"); got != want || got.TalkSeconds != 274 {
		t.Errorf("new call:\n SQL %+v\n  Go %+v (want talk 274 s)", got, want)
	}
}

// migrateOnly applies the given migrations, as a callpulse that knew only
// them would.
func migrateOnly(t *testing.T, db *DB, ms []Migration) {
	t.Helper()
	ctx := context.Background()
	if err := db.createDatabase(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.exec(ctx, createSchemaMigrations); err != nil {
		t.Fatal(err)
	}
	plan := make([][]string, len(ms))
	for i, m := range ms {
		plan[i] = m.Statements
	}
	if _, err := db.applyMigrations(ctx, ms, plan); err != nil {
		t.Fatal(err)
	}
}

// writeBefore0010 inserts events as the writer did before migration 0010:
// every end in ended_at, dedup keys of events that had no ArrivalEnd. It
// returns the last spool sequence number used.
func writeBefore0010(t *testing.T, db *DB, events []call.Event, seq uint64) uint64 {
	t.Helper()
	ctx := context.Background()
	batch, err := db.conn.PrepareBatch(ctx, `INSERT INTO call_events (provider, call_id, event_key, received_at,
		direction, started_at, answered_at, ended_at, client_phone, line_phone, line_source, manager, manager_rank,
		status, talk_seconds, recording_url, recording_ref, spool_seq)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		e.ArrivalEnd = false
		seq++
		if err := batch.Append(e.Provider, e.CallID, e.DedupKey(), ts(e.ReceivedAt), e.Direction.String(),
			ts(e.StartedAt), ts(e.AnsweredAt), ts(e.EndedAt), e.ClientPhone, e.LinePhone, "", e.Manager,
			e.ManagerRank, e.Status.String(), e.TalkSeconds, e.RecordingURL, e.RecordingRef, seq); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	return seq
}

// foldBefore0010 folds events as callpulse did before arrival-time ends
// were told apart: the latest end of all.
func foldBefore0010(events []call.Event) call.Call {
	evs := make([]call.Event, len(events))
	for i, e := range events {
		e.ArrivalEnd = false
		evs[i] = e
	}
	return call.Fold(evs)
}

// checkAggFoldsLikeView checks that calls_agg, both kinds, folds into the
// calls view's rows.
func checkAggFoldsLikeView(t *testing.T, db *DB, stage string) {
	t.Helper()
	want := readAll(t, db, viewSQL)
	for _, kind := range []uint8{0, 1} {
		if got := readAll(t, db, aggSQL, kind); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: calls_agg kind %d folds to\n%v\nthe calls view has\n%v", stage, kind, got, want)
		}
	}
}
