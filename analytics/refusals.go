package analytics

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// refusalsSQL counts the deals lost in a period (by close time) per loss
// reason, source and manager. The source is the deal's own (what the CRM
// credits it to), else its client's ad source (as in the funnel); the
// manager is the deal's, else the client's responsible manager. Empty
// values become 'unknown'. The period is [@start, @end).
func refusalsSQL(src callSource) string {
	return `
SELECT reason, source, manager, toUInt64(count()) AS deals
FROM
(
    SELECT
        if(loss_reason != '', loss_reason, 'unknown') AS reason,
        if(d_source != '', d_source, ` + adSourceExpr + `) AS source,
        multiIf(d_manager != '', d_manager, c_manager != '', c_manager, 'unknown') AS manager
    FROM
    (
        SELECT phone, loss_reason, d_source, d_manager, first_line_source, first_deal_source
        FROM
        (
            SELECT phone, loss_reason, source AS d_source, manager AS d_manager
            FROM (` + latestDealsSQL + `)
            WHERE stage = 'lost' AND closed_at >= @start AND closed_at < @end
        )
        ANY LEFT JOIN (` + src.contacts + `) USING phone
    )
    ANY LEFT JOIN (` + latestClientsSQL + `) USING phone
)
GROUP BY reason, source, manager`
}

var refusalsQuery = sourced(refusalsSQL)

// RefusalRow is the number of deals lost for one reason, credited to one
// source and manager (as stored: an extension or a manager id).
type RefusalRow struct {
	Reason  string
	Source  string
	Manager string
	Deals   uint64
}

// Refusals counts the deals whose latest version is lost with a close time
// in the period, per loss reason, source and manager. Rows are in no
// particular order; BuildRefusalReport sorts them. It reads the phone
// rollup of the newest snapshot and what changed since; without a
// snapshot it is RefusalsRaw.
func (s *Store) Refusals(ctx context.Context, p Period) ([]RefusalRow, error) {
	r, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	return s.refusals(r, p)
}

// RefusalsRaw is Refusals folding every stored call through the calls
// view: the reference Refusals is tested against.
func (s *Store) RefusalsRaw(ctx context.Context, p Period) ([]RefusalRow, error) {
	return s.refusals(rawReading(ctx), p)
}

func (s *Store) refusals(r reading, p Period) ([]RefusalRow, error) {
	start, end := p.bounds()
	rows, err := s.conn.Query(r.ctx, r.form(refusalsQuery), r.with(clickhouse.Named("start", start), clickhouse.Named("end", end))...)
	if err != nil {
		return nil, fmt.Errorf("query refusals: %w", err)
	}
	defer rows.Close()
	var out []RefusalRow
	for rows.Next() {
		var r RefusalRow
		if err := rows.Scan(&r.Reason, &r.Source, &r.Manager, &r.Deals); err != nil {
			return nil, fmt.Errorf("scan refusals: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read refusals: %w", err)
	}
	return out, nil
}

// RefusalReport is why deals were lost over a period, per source and
// manager.
type RefusalReport struct {
	From     string        `json:"from"`
	To       string        `json:"to"`
	Timezone string        `json:"timezone"`
	Refusals []RefusalLine `json:"refusals"`
}

// RefusalLine is the number of lost deals with one reason, source and
// manager.
type RefusalLine struct {
	Reason  string `json:"reason"`
	Source  string `json:"source"`
	Manager string `json:"manager"`
	Count   uint64 `json:"count"`
}

// BuildRefusalReport maps the rows' managers to the configured managers
// (by id or extension; anything else, such as a CRM user name, is kept as
// it is), merges rows that land on the same manager, and sorts by count,
// descending, then reason, source and manager.
func BuildRefusalReport(p Period, rows []RefusalRow, team *Team) RefusalReport {
	type key struct{ reason, source, manager string }
	counts := map[key]uint64{}
	for _, r := range rows {
		m := r.Manager
		if found, ok := team.Lookup(m); ok {
			m = found.ID
		}
		counts[key{r.Reason, r.Source, m}] += r.Deals
	}
	rep := RefusalReport{
		From:     p.From.Format(time.DateOnly),
		To:       p.To.Format(time.DateOnly),
		Timezone: p.From.Location().String(),
		Refusals: make([]RefusalLine, 0, len(counts)),
	}
	for k, n := range counts {
		rep.Refusals = append(rep.Refusals, RefusalLine{Reason: k.reason, Source: k.source, Manager: k.manager, Count: n})
	}
	sort.Slice(rep.Refusals, func(i, j int) bool {
		a, b := rep.Refusals[i], rep.Refusals[j]
		switch {
		case a.Count != b.Count:
			return a.Count > b.Count
		case a.Reason != b.Reason:
			return a.Reason < b.Reason
		case a.Source != b.Source:
			return a.Source < b.Source
		}
		return a.Manager < b.Manager
	})
	return rep
}
