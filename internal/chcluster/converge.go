package chcluster

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Digest is what a replica holds in one table: its rows and a hash of
// their contents, independent of row order and of how rows are split into
// parts.
type Digest struct {
	Rows uint64
	Hash uint64
}

// maxConvergeRounds bounds Converge. A round can only miss if a merge was
// assigned between the syncs of two replicas (a ReplacingMergeTree merge
// drops rows on one replica before the other); the next round syncs it.
const maxConvergeRounds = 10

// Converge syncs every replica (Sync) and compares the digests of every
// replicated table of database on all of them, until they agree, and
// returns them. It fails if they still differ after a few rounds: the
// replicas did not converge.
func (c *Cluster) Converge(ctx context.Context, database string) (map[string]Digest, error) {
	var last []map[string]Digest
	for range maxConvergeRounds {
		if err := c.Sync(ctx, database); err != nil {
			return nil, err
		}
		last = last[:0]
		for _, r := range c.Replicas {
			d, err := digests(ctx, r.Addr(), database)
			if err != nil {
				return nil, fmt.Errorf("digest replica %s: %w", r.Addr(), err)
			}
			last = append(last, d)
		}
		same := true
		for _, d := range last[1:] {
			same = same && reflect.DeepEqual(d, last[0])
		}
		if same {
			return last[0], nil
		}
	}
	return nil, fmt.Errorf("replicas of %s did not converge in %d rounds: %v", database, maxConvergeRounds, last)
}

// digests computes the Digest of every replicated table of database on the
// server at addr, from its local data only.
func digests(ctx context.Context, addr, database string) (map[string]Digest, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tables, err := ReplicatedTables(ctx, conn, database)
	if err != nil {
		return nil, err
	}
	out := map[string]Digest{}
	for _, table := range tables {
		cols, err := columns(ctx, conn, database, table)
		if err != nil {
			return nil, err
		}
		// toString serialises every type, AggregateFunction states included.
		for i, c := range cols {
			cols[i] = "toString(`" + c + "`)"
		}
		var d Digest
		q := fmt.Sprintf("SELECT count(), sum(cityHash64(%s)) FROM %s.%s", strings.Join(cols, ", "), database, table)
		if err := conn.QueryRow(ctx, q).Scan(&d.Rows, &d.Hash); err != nil {
			return nil, fmt.Errorf("digest %s: %w", table, err)
		}
		out[table] = d
	}
	return out, nil
}

func columns(ctx context.Context, conn clickhouse.Conn, database, table string) ([]string, error) {
	rows, err := conn.Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = ? ORDER BY name", database, table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}
