package warehouse

import (
	"context"
	"reflect"
	"testing"
)

// checkPartitions writes rows into two partitions of talk_refreshes
// through db, drops one, and checks what Partitions lists through each of
// readers before and after (after sync, when readers are other replicas).
func checkPartitions(t *testing.T, db *DB, sync func(), readers ...*DB) {
	t.Helper()
	ctx := context.Background()
	for _, epoch := range []uint64{7, 8} {
		if err := db.exec(ctx, "INSERT INTO talk_refreshes (epoch, id, base, cutoff, zone, rebuilt, done_at)"+
			" SELECT ?, 1, 0, now(), '', now(), now()", epoch); err != nil {
			t.Fatal(err)
		}
	}
	list := func(when string, want []Partition) {
		t.Helper()
		sync()
		for _, r := range readers {
			got, err := r.Partitions(ctx, "talk_refreshes", "deals")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: Partitions = %v, want %v", when, got, want)
			}
		}
	}
	list("written", []Partition{{"talk_refreshes", "7"}, {"talk_refreshes", "8"}})
	if err := db.DropPartition(ctx, "talk_refreshes", "7"); err != nil {
		t.Fatal(err)
	}
	list("dropped", []Partition{{"talk_refreshes", "8"}})
}

func TestPartitions(t *testing.T) {
	db := openTestDB(t)
	checkPartitions(t, db, func() {}, db)
}
