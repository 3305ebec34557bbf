package warehouse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestCallsAggFoldsLikeView delivers each call's events three times in a
// random order, in several batches, and checks that folding calls_agg —
// both the rows sorted by call (kind 0) and the copies sorted by arrival
// (kind 1) — gives the calls view's row, column for column.
func TestCallsAggFoldsLikeView(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	w := NewEventWriter(db, map[string]string{"+74951112233": "yandex_direct"}, NewMetrics(nil), nil)
	rng := rand.New(rand.NewPCG(3, 4))
	seq := uint64(0)
	for i := range 6 {
		events := callEvents(fmt.Sprintf("call-%d", i), endKind(i%3))
		delivered := append(append(append(events[:0:0], events...), events...), events...)
		rng.Shuffle(len(delivered), func(a, b int) { delivered[a], delivered[b] = delivered[b], delivered[a] })
		for start := 0; start < len(delivered); start += 4 {
			end := min(start+4, len(delivered))
			if err := w.Write(ctx, records(t, delivered[start:end], seq+1)); err != nil {
				t.Fatalf("Write: %v", err)
			}
			seq += uint64(end - start)
		}
	}
	want := readAll(t, db, viewSQL)
	if len(want) != 6 {
		t.Fatalf("calls view has %d calls, want 6", len(want))
	}
	for _, kind := range []uint8{0, 1} {
		if got := readAll(t, db, aggSQL, kind); !reflect.DeepEqual(got, want) {
			t.Errorf("calls_agg kind %d folds to\n%v\nthe calls view has\n%v", kind, got, want)
		}
	}
}

// readAll reads every row of q as strings.
func readAll(t *testing.T, db *DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.conn.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(rows.Columns()))
		for i, ct := range rows.ColumnTypes() {
			vals[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(reflect.ValueOf(v).Elem().Interface())
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// viewSQL reads every call of the calls view; aggSQL folds calls_agg
// rows of one kind (?) into the same columns.
const (
	viewSQL = `SELECT provider, call_id, toString(direction), started_at, answered_at, ended_at, client_phone,
		line_phone, line_source, manager, toString(status), talk_seconds, recording_url, recording_ref
		FROM calls ORDER BY provider, call_id`
	aggSQL = `SELECT provider, call_id, toString(f_direction), f_started, f_answered, f_ended, f_client,
		f_line, f_source, f_manager, if(f_answered > toDateTime(0), 'answered', toString(f_status)),
		toUInt32(multiIf(
			f_answered = toDateTime(0) AND f_status != 'answered', 0,
			f_reported > 0, f_reported,
			f_answered > toDateTime(0) AND f_ended > f_answered, toUInt32(f_ended) - toUInt32(f_answered),
			0)),
		f_url, f_ref
		FROM
		(
			SELECT provider, call_id,
				maxMerge(direction) AS f_direction,
				minIfMerge(started_at) AS f_started,
				minIfMerge(answered_at) AS f_answered,
				maxMerge(ended_at) AS f_clock_ended,
				maxMerge(arrival_ended_at) AS f_arrival_ended,
				if(f_clock_ended > toDateTime(0), f_clock_ended, f_arrival_ended) AS f_ended,
				maxMerge(client_phone) AS f_client,
				maxMerge(line_phone) AS f_line,
				maxMerge(line_source) AS f_source,
				tupleElement(maxIfMerge(manager), 2) AS f_manager,
				maxMerge(status) AS f_status,
				maxMerge(talk_seconds) AS f_reported,
				maxMerge(recording_url) AS f_url,
				maxMerge(recording_ref) AS f_ref
			FROM calls_agg
			WHERE kind = ?
			GROUP BY provider, call_id
		)
		ORDER BY provider, call_id`
)
