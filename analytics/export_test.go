package analytics

import (
	"context"
	"fmt"

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

// SetMaxLeadsInQuery sets how many leads Sources sends back as a set and
// returns a function that restores the previous value.
func SetMaxLeadsInQuery(n int) (restore func()) {
	old := maxLeadsInQuery
	maxLeadsInQuery = n
	return func() { maxLeadsInQuery = old }
}

// HeadChain is the refreshes on the newest snapshot's chain, head first,
// as the Go readers pick it (pickHead); nil when there is none.
func HeadChain(ctx context.Context, conn driver.Conn) ([]uint64, error) {
	markers, err := loadRefreshes(ctx, conn)
	if err != nil {
		return nil, err
	}
	_, chain, ok := pickHead(markers)
	if !ok {
		return nil, nil
	}
	return chain.idList(), nil
}
