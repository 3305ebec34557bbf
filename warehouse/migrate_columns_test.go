package warehouse

import (
	"reflect"
	"testing"
)

// TestAddedColumns: the migrator recognises the statements that only add
// columns, as migrations write them and as the cluster rewrite makes them.
func TestAddedColumns(t *testing.T) {
	tests := []struct {
		stmt            string
		database, table string
		cols            []string
	}{
		{"ALTER TABLE call_events ADD COLUMN arrival_ended_at DateTime AFTER ended_at", "cp", "call_events", []string{"arrival_ended_at"}},
		{"alter table calls_agg add column s AggregateFunction(max, DateTime)", "cp", "calls_agg", []string{"s"}},
		{"ALTER TABLE other.x_local ON CLUSTER callpulse ADD COLUMN a String DEFAULT 'a,b', ADD COLUMN b AggregateFunction(maxIf, Tuple(UInt8, String), UInt8)",
			"other", "x_local", []string{"a", "b"}},
		{"ALTER TABLE t ADD COLUMN a String, DROP COLUMN b", "", "", nil},
		{"ALTER TABLE events DELETE WHERE k = ''", "", "", nil},
		{"ALTER TABLE t MODIFY COLUMN a String", "", "", nil},
		{"CREATE TABLE IF NOT EXISTS t (a String) ENGINE = MergeTree ORDER BY a", "", "", nil},
	}
	db := &DB{database: "cp"}
	for _, tt := range tests {
		database, table, cols := db.addedColumns(tt.stmt)
		if database != tt.database || table != tt.table || !reflect.DeepEqual(cols, tt.cols) {
			t.Errorf("addedColumns(%q) = %q, %q, %q; want %q, %q, %q", tt.stmt, database, table, cols, tt.database, tt.table, tt.cols)
		}
	}
}
