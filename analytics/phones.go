package analytics

import (
	"context"
	"fmt"
	"slices"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"
)

// Phones answers questions about a few client phones' calls from the
// phone rollup, exact as of now.
type Phones struct {
	conn driver.Conn
}

// NewPhones returns Phones over a ClickHouse connection whose default
// database holds callpulse's tables.
func NewPhones(conn driver.Conn) *Phones {
	return &Phones{conn: conn}
}

// lineSourcesRawSQL is, for each phone in phonesTable, the line source of its
// earliest call on a line with one (then the smaller source name),
// folding its calls through the calls view.
const lineSourcesRawSQL = `
SELECT client_phone, argMinIf(line_source, (at, line_source), line_source != '' AND at > toDateTime(0)) AS l_source
FROM
(
    SELECT client_phone, line_source,
        multiIf(started_at > toDateTime(0), started_at, answered_at > toDateTime(0), answered_at, ended_at) AS at
    FROM calls
    WHERE client_phone IN ` + phonesTable + `
)
GROUP BY client_phone
HAVING l_source != ''`

// FirstLineSources returns, for those of phones with a call on a line
// with an ad source, that source of the earliest such call (by the call's
// start, else answer, else end; then the smaller source name): the call
// tracking part of a client's ad source. It reads the phone rollup of the
// newest snapshot and folds the calls changed since; without a snapshot
// it folds the phones' calls through the calls view (slow on a large
// store).
func (p *Phones) FirstLineSources(ctx context.Context, phones []string) (map[string]string, error) {
	out := map[string]string{}
	if len(phones) == 0 {
		return out, nil
	}
	head, _, ok, err := factsSnapshot(ctx, p.conn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return p.FirstLineSourcesRaw(ctx, phones)
	}
	return p.firstLineSources(ctx, head, phones)
}

// firstLineSources is FirstLineSources from the snapshot head: its phone
// rollup, and the calls changed since its cutoff folded.
func (p *Phones) firstLineSources(ctx context.Context, head refreshMarker, phones []string) (map[string]string, error) {
	out := map[string]string{}
	var fresh map[string]*phoneFacts
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		qctx, err := withPhones(gctx, slices.Values(phones))
		if err != nil {
			return err
		}
		rows, err := p.conn.Query(qctx, phoneRollupSQL, clickhouse.Named("gen", head.generation))
		if err != nil {
			return fmt.Errorf("query phone rollup of %d phones: %w", len(phones), err)
		}
		defer rows.Close()
		for rows.Next() {
			var phone string
			var f phoneFacts
			if err := rows.Scan(&phone, &f.calls, &f.firstAt, &f.sourceAt, &f.source, &f.answered); err != nil {
				return fmt.Errorf("scan phone rollup: %w", err)
			}
			if f.source != "" {
				out[phone] = f.source
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read phone rollup: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		changed, phones, err := freshPhones(gctx, p.conn, head.cutoff, false)
		if err != nil {
			return err
		}
		fresh, err = freshPhoneFacts(gctx, p.conn, head.generation, head.cutoff, changed, phones)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	asked := make(map[string]bool, len(phones))
	for _, phone := range phones {
		asked[phone] = true
	}
	for phone, f := range fresh {
		if !asked[phone] {
			continue
		}
		delete(out, phone)
		if f.source != "" {
			out[phone] = f.source
		}
	}
	return out, nil
}

// FirstLineSourcesRaw is FirstLineSources through the calls view: the
// reference the tests and QueueRaw compare the rollup with.
func (p *Phones) FirstLineSourcesRaw(ctx context.Context, phones []string) (map[string]string, error) {
	qctx, err := withPhones(ctx, slices.Values(phones))
	if err != nil {
		return nil, err
	}
	rows, err := p.conn.Query(qctx, lineSourcesRawSQL)
	if err != nil {
		return nil, fmt.Errorf("query line sources of %d phones: %w", len(phones), err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var phone, source string
		if err := rows.Scan(&phone, &source); err != nil {
			return nil, fmt.Errorf("scan line source: %w", err)
		}
		out[phone] = source
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read line sources: %w", err)
	}
	return out, nil
}
