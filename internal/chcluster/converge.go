package chcluster

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callpulse/callpulse/internal/poll"
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

// activeWithin bounds how long Converge waits for every replica to be
// active: a replica restarted right after a SIGKILL waits for ZooKeeper
// to expire its old session, then retries (zookeeper_session_expiration_
// check_period, one second in these servers).
const activeWithin = 2 * time.Minute

// Converge waits until every replicated table of database is active on
// every replica (WaitActive), syncs every replica (Sync) and compares the
// digests of every replicated table on all of them, until they agree, and
// returns them. It fails if they still differ after a few rounds: the
// replicas did not converge.
func (c *Cluster) Converge(ctx context.Context, database string) (map[string]Digest, error) {
	if err := c.WaitActive(ctx, database); err != nil {
		return nil, err
	}
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

// WaitActive waits until, on every replica, every replicated table of
// database is replicating (not read-only) and sees all its replicas
// active. A table that cannot start replicating (a replica restarted
// before ZooKeeper expired its old session) neither fetches nor takes
// inserts, yet SYSTEM SYNC REPLICA returns at once on it.
func (c *Cluster) WaitActive(ctx context.Context, database string) error {
	return poll.Until(ctx, activeWithin, 100*time.Millisecond, "every replica is active", func(ctx context.Context) (bool, error) {
		for _, r := range c.Replicas {
			if n, err := inactiveTables(ctx, r.Addr(), database); err != nil || n > 0 {
				return false, err
			}
		}
		return true, nil
	})
}

// WaitInactive waits until every other replica sees replica i inactive in
// every replicated table of database (after ZooKeeper expired the
// session of a stopped replica).
func (c *Cluster) WaitInactive(ctx context.Context, i int, database string) error {
	return poll.Until(ctx, activeWithin, 100*time.Millisecond, "replica "+c.Replicas[i].Addr()+" is seen inactive", func(ctx context.Context) (bool, error) {
		for j, r := range c.Replicas {
			if j == i {
				continue
			}
			if n, err := fullyActiveTables(ctx, r.Addr(), database); err != nil || n > 0 {
				return false, err
			}
		}
		return true, nil
	})
}

// fullyActiveTables counts the replicated tables of database on the server
// at addr that see all their replicas active.
func fullyActiveTables(ctx context.Context, addr, database string) (uint64, error) {
	return countTables(ctx, addr, database, "active_replicas = total_replicas")
}

// inactiveTables counts the replicated tables of database on the server at
// addr that are read-only or miss an active replica.
func inactiveTables(ctx context.Context, addr, database string) (uint64, error) {
	return countTables(ctx, addr, database, "is_readonly OR is_session_expired OR active_replicas < total_replicas")
}

// countTables counts the replicated tables of database on the server at
// addr whose system.replicas row meets cond.
func countTables(ctx context.Context, addr, database, cond string) (uint64, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.replicas WHERE database = ? AND ("+cond+")", database).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tables where %s: %w", cond, err)
	}
	return n, nil
}

// republished are the replicated tables that every running daemon writes
// again every refresh interval, whatever arrives: the call queue published
// for the dashboards (scoring.Scorer.Publish). Their replicas agree only
// between two publications, so Converge leaves them out.
var republished = map[string]bool{"lead_queue_local": true}

// digests computes the Digest of every replicated table of database on the
// server at addr (but the republished ones), from its local data only.
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
		if republished[table] {
			continue
		}
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
