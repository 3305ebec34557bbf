package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// RefreshFactsOnly does what a delta refresh does up to and including its
// call facts and phone rollup rows, then stops, as a refresh that crashed
// before its marker.
func (r *Rollup) RefreshFactsOnly(ctx context.Context) error {
	markers, err := loadRefreshes(ctx, r.conn)
	if err != nil {
		return err
	}
	head, _, ok := factsHead(markers)
	if !ok {
		return fmt.Errorf("no snapshot to extend")
	}
	now, err := serverNow(ctx, r.conn)
	if err != nil {
		return err
	}
	cutoff := now.Add(-r.opts.Margin).Truncate(1e9).UTC()
	changed, err := foldChanges(ctx, r.conn, head.cutoff, cutoff, r.dayZone(), true)
	if err != nil {
		return err
	}
	return refreshFacts(ctx, r.conn, head.generation, cutoff, changed)
}

// CallsByStatusRaw is CallsByStatus through the calls view.
func (s *Store) CallsByStatusRaw(ctx context.Context, p Period) ([]StatusCount, error) {
	return s.callsByStatus(ctx, p, callsByStatusRawSQL)
}

// SnapshotHead is the snapshot the readers of the call facts pick
// (factsHead): its id, generation, rebuild cutoff and the refreshes on its
// chain, head first; zeros when there is none.
func SnapshotHead(ctx context.Context, conn driver.Conn) (id, generation uint64, rebuilt time.Time, chain []uint64, err error) {
	markers, err := loadRefreshes(ctx, conn)
	if err != nil {
		return 0, 0, time.Time{}, nil, err
	}
	head, c, ok := factsHead(markers)
	if !ok {
		return 0, 0, time.Time{}, nil, nil
	}
	return head.id, head.generation, head.rebuilt, c.idList(), nil
}
