package analytics

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/callpulse/callpulse/warehouse"
)

// How long data that no snapshot needs is kept.
const (
	// supersededGrace is how long an epoch is kept after a newer root was
	// done: longer than any refresh that may still extend it (deltaTimeout)
	// and any query that may still read it.
	supersededGrace = 15 * time.Minute
	// orphanGrace is how long an epoch without a done root (a crashed
	// rebuild, or one still running) is kept: longer than rebuildTimeout.
	orphanGrace = 2 * time.Hour
	// touchDays is how many days of calls_agg's arrival-ordered rows
	// (kind 1) are kept before the day of the newest snapshot's cutoff:
	// queries and refreshes read them from that cutoff on.
	touchDays = 2
)

// dropStale drops what the newest snapshot no longer needs: epochs older
// than its own that were superseded by a root done supersededGrace ago,
// epochs without a done root (a rebuild that crashed) older than
// orphanGrace, generations of facts older than its own on the same terms,
// and days of arrival-ordered calls_agg rows before its cutoff. Markers go
// before rows, so a chain is never followed into dropped rows.
func (r *Rollup) dropStale(ctx context.Context) error {
	markers, err := loadRefreshes(ctx, r.conn)
	if err != nil {
		return err
	}
	head, _, ok := factsHead(markers)
	if !ok {
		return nil
	}
	now, err := serverNow(ctx, r.conn)
	if err != nil {
		return err
	}
	rootDone := map[uint64]time.Time{}
	for _, m := range markers {
		if m.root() {
			rootDone[m.id] = m.doneAt
		}
	}
	// A superseded epoch may still be read by a query or extended by a
	// refresh that started before the head's root was done; an epoch
	// without a done root may be a rebuild still running.
	epochStale := func(epoch uint64) bool {
		if _, done := rootDone[epoch]; done {
			return now.Sub(rootDone[head.epoch]) >= supersededGrace
		}
		return now.Sub(idTime(epoch)) >= orphanGrace
	}
	// An older generation may still be read until the head generation's
	// rebuild has been done for supersededGrace (when its marker is gone,
	// its epoch was superseded at least that long ago). A rebuild of an
	// older generation still running loses nothing when it is dropped: its
	// snapshot is older than the head's, so no one reads it.
	genStale := func() bool {
		done, found := rootDone[head.generation]
		return !found || now.Sub(done) >= supersededGrace
	}
	parts, err := r.partitions(ctx)
	if err != nil {
		return err
	}
	oldestTouchDay := head.cutoff.AddDate(0, 0, -touchDays).Format("20060102")
	for _, p := range parts {
		drop := false
		switch p.table {
		case "talk_refreshes", "talk_rollup":
			epoch, err := strconv.ParseUint(p.partition, 10, 64)
			drop = err == nil && epoch < head.epoch && epochStale(epoch)
		case "fact_refreshes", "phone_rollup", "call_facts", "calls_by_time":
			gen, err := strconv.ParseUint(p.partition, 10, 64)
			drop = err == nil && gen < head.generation && genStale()
		case "calls_agg":
			day, isTouch := strings.CutPrefix(p.partition, "(1,")
			day = strings.TrimSuffix(day, ")")
			drop = isTouch && len(day) == len(oldestTouchDay) && day < oldestTouchDay
		}
		if !drop {
			continue
		}
		if err := r.dropPartition(ctx, p); err != nil {
			return err
		}
		r.log.Debug("dropped rollup data no snapshot needs", "table", p.table, "partition", p.partition)
	}
	return nil
}

type partition struct{ table, partition string }

// Partitions lists and drops partitions of tables named as the migrations
// name them. *warehouse.DB implements it.
type Partitions interface {
	Partitions(ctx context.Context, tables ...string) ([]warehouse.Partition, error)
	DropPartition(ctx context.Context, table, partition string) error
}

// rollupTables are the rollup's tables, markers first: they are dropped
// before the rows they describe.
var rollupTables = []string{"talk_refreshes", "fact_refreshes", "calls_agg", "call_facts", "calls_by_time", "phone_rollup",
	"talk_rollup"}

func (r *Rollup) dropPartition(ctx context.Context, p partition) error {
	if r.opts.Partitions != nil {
		return r.opts.Partitions.DropPartition(ctx, p.table, p.partition)
	}
	if err := r.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION %s", p.table, p.partition)); err != nil {
		return fmt.Errorf("drop partition %s of %s: %w", p.table, p.partition, err)
	}
	return nil
}

// partitions lists the partitions of the rollup's tables, markers first.
func (r *Rollup) partitions(ctx context.Context) ([]partition, error) {
	if r.opts.Partitions != nil {
		ps, err := r.opts.Partitions.Partitions(ctx, rollupTables...)
		if err != nil {
			return nil, err
		}
		out := make([]partition, len(ps))
		for i, p := range ps {
			out[i] = partition{p.Table, p.Partition}
		}
		return out, nil
	}
	rows, err := r.conn.Query(ctx, `SELECT DISTINCT table, partition FROM system.parts
		WHERE database = currentDatabase() AND active
			AND table IN ('talk_refreshes', 'fact_refreshes', 'talk_rollup', 'phone_rollup', 'call_facts', 'calls_by_time',
				'calls_agg')
		ORDER BY table IN ('talk_refreshes', 'fact_refreshes') DESC, table, partition`)
	if err != nil {
		return nil, fmt.Errorf("list partitions of the talk-time rollup: %w", err)
	}
	defer rows.Close()
	var out []partition
	for rows.Next() {
		var p partition
		if err := rows.Scan(&p.table, &p.partition); err != nil {
			return nil, fmt.Errorf("scan partition: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list partitions of the talk-time rollup: %w", err)
	}
	return out, nil
}
