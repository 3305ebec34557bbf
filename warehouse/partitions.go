package warehouse

import (
	"context"
	"fmt"
	"strings"
)

// Partition is one active partition of a table, as system.parts names it:
// Partition is the expression DropPartition takes.
type Partition struct {
	Table     string
	Partition string
}

// Partitions lists the active partitions of tables (named as the
// migrations name them), by table then partition, in the order tables
// are given. On a cluster it lists those of their local tables on the
// server the connection reaches: every replica holds every partition.
// (system.parts knows nothing of a Distributed table, which has no parts.)
func (db *DB) Partitions(ctx context.Context, tables ...string) ([]Partition, error) {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = db.storage(t)
	}
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	rows, err := db.conn.Query(ctx, `SELECT DISTINCT table, partition FROM system.parts
		WHERE database = currentDatabase() AND active AND has(?, table)
		ORDER BY indexOf(?, table), partition`, names, names)
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", strings.Join(tables, ", "), err)
	}
	defer rows.Close()
	var out []Partition
	for rows.Next() {
		var p Partition
		if err := rows.Scan(&p.Table, &p.Partition); err != nil {
			return nil, fmt.Errorf("scan partition: %w", err)
		}
		if db.opts.Cluster != "" {
			p.Table = strings.TrimSuffix(p.Table, localSuffix)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", strings.Join(tables, ", "), err)
	}
	return out, nil
}

// DropPartition drops a partition that Partitions listed. On a cluster it
// drops it from the local table on the server the connection reaches;
// replication drops it on the other replicas, also on those that are down
// now, when they are back (DDL ON CLUSTER would wait for them instead).
func (db *DB) DropPartition(ctx context.Context, table, partition string) error {
	if err := db.exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION %s", db.storage(table), partition)); err != nil {
		return fmt.Errorf("drop partition %s of %s: %w", partition, table, err)
	}
	return nil
}

// storage is the table that holds the rows of table: itself on one
// server, its local table on a cluster.
func (db *DB) storage(table string) string {
	if db.opts.Cluster != "" {
		return table + localSuffix
	}
	return table
}
