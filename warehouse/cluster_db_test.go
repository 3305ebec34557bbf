package warehouse

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/internal/chcluster"
)

// TestCluster runs migrations on a real cluster of two replicas (ZooKeeper
// and two clickhouse-servers on loopback).
func TestCluster(t *testing.T) {
	c := chcluster.Start(t, 2, "cp_migrate")
	t.Run("migrate", func(t *testing.T) { testClusterMigrate(t, c) })
	t.Run("arrival ends", func(t *testing.T) { testClusterArrivalEnds(t, c) })
	t.Run("partitions", func(t *testing.T) { testClusterPartitions(t, c) })
	t.Run("rewrite runs", func(t *testing.T) { testClusterRewriteRuns(t, c) })
	t.Run("refuses", func(t *testing.T) { testClusterRefuses(t, c) })
}

// testClusterPartitions: on a cluster, partitions are those of the local
// tables, and one dropped through a replica is gone from both.
func testClusterPartitions(t *testing.T, c *chcluster.Cluster) {
	var dbs []*DB
	for i := range c.Replicas {
		db, err := Open(c.DSN(i, "cp_migrate"), Options{Cluster: chcluster.Name})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	sync := func() {
		if err := c.Sync(context.Background(), "cp_migrate"); err != nil {
			t.Fatal(err)
		}
	}
	checkPartitions(t, dbs[0], sync, dbs...)
}

// testClusterRefuses: Migrate explains what is wrong rather than create a
// schema that would not work.
func testClusterRefuses(t *testing.T, c *chcluster.Cluster) {
	ctx := context.Background()
	single, err := Open(c.DSN(0, "cp_single"), Options{QueryTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()
	if _, err := single.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, database, cluster, want string }{
		{"unknown cluster", "cp_other", "nosuch", "not in the server's remote_servers"},
		{"database of one server", "cp_single", chcluster.Name, "created for one server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(c.DSN(0, tt.database), Options{Cluster: tt.cluster})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Migrate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// testClusterMigrate: every server gets the same tables (replicated local
// tables, Distributed tables, views), and once replicated, a run through
// the other server applies nothing.
func testClusterMigrate(t *testing.T, c *chcluster.Cluster) {
	ctx := context.Background()
	db, err := Open(c.DSN(0, "cp_migrate"), Options{Cluster: chcluster.Name, QueryTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	applied, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	t.Logf("migrated the cluster in %v", time.Since(start).Round(time.Millisecond))
	all, _ := Migrations()
	if len(applied) != len(all) {
		t.Errorf("applied %v, want all %d migrations", applied, len(all))
	}

	// Every server has the same schema.
	var schemas []map[string]string
	for _, r := range c.Replicas {
		schemas = append(schemas, tables(t, r.Addr(), "cp_migrate"))
	}
	if !reflect.DeepEqual(schemas[0], schemas[1]) {
		t.Errorf("replicas differ:\n r1 %v\n r2 %v", schemas[0], schemas[1])
	}
	for table, want := range map[string]string{
		"call_events_local":       "ReplicatedReplacingMergeTree",
		"call_events":             "Distributed",
		"schema_migrations_local": "ReplicatedReplacingMergeTree",
		"calls_agg_local":         "ReplicatedAggregatingMergeTree",
		"report_sent_local":       "ReplicatedMergeTree",
		"calls":                   "View",
		"calls_agg_fold_mv":       "MaterializedView",
	} {
		if got := schemas[1][table]; got != want {
			t.Errorf("r2 table %s: engine %q, want %q", table, got, want)
		}
	}
	if _, found := schemas[1]["call_events_replay"]; found {
		t.Error("the backfill's Null table was not dropped on r2")
	}
	if _, found := schemas[1]["calls_agg_mv"]; found {
		t.Error("calls_agg_mv, replaced by calls_agg_fold_mv (0010), was not dropped on r2")
	}

	// Another daemon migrating through the other server finds all applied
	// once schema_migrations has replicated there.
	if err := c.Sync(ctx, "cp_migrate"); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(c.DSN(1, "cp_migrate"), Options{Cluster: chcluster.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if again, err := db2.Migrate(ctx); err != nil || len(again) != 0 {
		t.Errorf("second migrate through r2 = %v, %v; want nothing applied", again, err)
	}
}

// testClusterArrivalEnds: migration 0010, run again as an interrupted run
// would (its ADD COLUMNs skipped), and calls with both kinds of ends fold
// on the cluster as call.Fold folds them, in calls_agg too.
func testClusterArrivalEnds(t *testing.T, c *chcluster.Cluster) {
	ctx := context.Background()
	db, err := Open(c.DSN(0, "cp_migrate"), Options{Cluster: chcluster.Name, QueryTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	schema := newClusterSchema(chcluster.Name, "cp_migrate")
	for _, m := range all {
		for _, stmt := range m.Statements {
			out, err := schema.rewrite(stmt)
			if err != nil {
				t.Fatal(err)
			}
			if m.Version != arrivalEndsVersion {
				continue
			}
			for _, s := range out {
				if err := db.execMigration(ctx, s); err != nil {
					t.Fatalf("0010 again: %s: %v", head(s), err)
				}
			}
		}
	}
	w := NewEventWriter(db, nil, NewMetrics(nil), nil)
	var seq uint64
	calls := map[string][]call.Event{}
	for _, ends := range []endKind{endOnPBXClock, endOnArrival, endOnBoth} {
		id := fmt.Sprintf("cluster-%d", ends)
		calls[id] = callEvents(id, ends)
		if err := w.Write(ctx, records(t, calls[id], seq+1)); err != nil {
			t.Fatalf("Write: %v", err)
		}
		seq += uint64(len(calls[id]))
	}
	// An insert lands on either replica, and the tables its views fill
	// replicate on their own: read once both replicas hold everything.
	if err := c.Sync(ctx, "cp_migrate"); err != nil {
		t.Fatal(err)
	}
	for id, events := range calls {
		if got, want := readCall(t, db, id), call.Fold(events); got != want {
			t.Errorf("call %s:\n SQL %+v\n  Go %+v", id, got, want)
		}
	}
	checkAggFoldsLikeView(t, db, "on the cluster")
}

// testClusterRewriteRuns applies the rewrite of every statement kind
// (testdata/cluster/schema.golden, checked by TestClusterRewriteGolden) to
// the cluster: ClickHouse accepts each one.
func testClusterRewriteRuns(t *testing.T, c *chcluster.Cluster) {
	golden, err := os.ReadFile("testdata/cluster/schema.golden")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin, err := clickhouse.Open(&clickhouse.Options{Addr: []string{c.Replicas[0].Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Exec(ctx, "CREATE DATABASE cp ON CLUSTER "+chcluster.Name); err != nil {
		t.Fatal(err)
	}
	// As Migrate runs them: from a session in the database, inserting
	// synchronously through Distributed tables.
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{c.Replicas[0].Addr()},
		Auth: clickhouse.Auth{Database: "cp"}, Settings: clickhouse.Settings{"insert_distributed_sync": 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range strings.Split(strings.TrimSuffix(string(golden), ";\n"), ";\n\n") {
		if err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	want := map[string]string{
		"events_local": "ReplicatedReplacingMergeTree", "events": "Distributed",
		"totals_local": "ReplicatedAggregatingMergeTree", "totals": "Distributed",
		"events_replay": "Null", "folded": "View", "totals_mv": "MaterializedView",
	}
	for _, r := range c.Replicas {
		if got := tables(t, r.Addr(), "cp"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: tables %v, want %v", r.Addr(), got, want)
		}
	}
}

// tables maps the tables of database on the server at addr to their engines.
func tables(t *testing.T, addr, database string) map[string]string {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(context.Background(), "SELECT name, engine FROM system.tables WHERE database = ?", database)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, engine string
		if err := rows.Scan(&name, &engine); err != nil {
			t.Fatal(err)
		}
		out[name] = engine
	}
	if err := rows.Err(); err != nil {
		t.Fatal(fmt.Errorf("list tables on %s: %w", addr, err))
	}
	return out
}
