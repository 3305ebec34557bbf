package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/callpulse/callpulse/client"
)

// TalkRow is talk time of one manager (PBX extension) with clients of one
// category on one day.
type TalkRow struct {
	Day       time.Time // midnight in the store's location
	Extension string
	Category  client.Category
	Seconds   uint64
	Calls     uint64
}

// talkTimeSQL sums talk seconds of answered calls per day, manager and the
// client's category at the start of the call: the latest category history
// row at or before started_at, or, before the first row, the first known
// category; without history, unknown. The day is the call's start day in
// the configured time zone.
const talkTimeSQL = `
SELECT day, manager, category, toUInt64(sum(talk)) AS seconds, toUInt64(count()) AS calls
FROM
(
    SELECT
        toDate(any(started_at), ?) AS day,
        any(manager) AS manager,
        any(talk_seconds) AS talk,
        multiIf(
            countIf(h_phone != '' AND h_valid_from <= started_at) > 0,
                argMaxIf(h_category, h_valid_from, h_phone != '' AND h_valid_from <= started_at),
            countIf(h_phone != '') > 0,
                argMinIf(h_category, h_valid_from, h_phone != ''),
            'unknown') AS category
    FROM
    (
        SELECT provider, call_id, manager, talk_seconds, started_at, client_phone
        FROM calls
        WHERE status = 'answered' AND started_at >= ? AND started_at < ? %s
    )
    ALL LEFT JOIN
    (
        SELECT phone AS client_phone, phone AS h_phone, toString(category) AS h_category, valid_from AS h_valid_from
        FROM client_categories
        WHERE category != 'unknown'
    ) USING client_phone
    GROUP BY provider, call_id
)
GROUP BY day, manager, category
ORDER BY day, manager, category`

// TalkTime returns talk time per day, extension and category for the
// period. If extensions is not empty, only those managers are counted.
func (s *Store) TalkTime(ctx context.Context, p Period, extensions []string) ([]TalkRow, error) {
	start, end := p.bounds()
	args := []any{s.loc.String(), start, end}
	filter := ""
	if len(extensions) > 0 {
		filter = "AND has(?, manager)"
		args = append(args, extensions)
	}
	rows, err := s.conn.Query(ctx, fmt.Sprintf(talkTimeSQL, filter), args...)
	if err != nil {
		return nil, fmt.Errorf("query talk time: %w", err)
	}
	defer rows.Close()
	var out []TalkRow
	for rows.Next() {
		var r TalkRow
		var cat string
		if err := rows.Scan(&r.Day, &r.Extension, &cat, &r.Seconds, &r.Calls); err != nil {
			return nil, fmt.Errorf("scan talk time: %w", err)
		}
		r.Category = client.Category(cat)
		y, m, d := r.Day.Date()
		r.Day = time.Date(y, m, d, 0, 0, 0, 0, s.loc)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read talk time: %w", err)
	}
	return out, nil
}

// StatusCount is the number of calls with one status.
type StatusCount struct {
	Status string
	Calls  uint64
}

// CallsByStatus counts calls started in the period by final status.
func (s *Store) CallsByStatus(ctx context.Context, p Period) ([]StatusCount, error) {
	start, end := p.bounds()
	rows, err := s.conn.Query(ctx, `SELECT status, toUInt64(count()) FROM calls
		WHERE started_at >= ? AND started_at < ? GROUP BY status ORDER BY status`, start, end)
	if err != nil {
		return nil, fmt.Errorf("query calls by status: %w", err)
	}
	defer rows.Close()
	var out []StatusCount
	for rows.Next() {
		var c StatusCount
		if err := rows.Scan(&c.Status, &c.Calls); err != nil {
			return nil, fmt.Errorf("scan calls by status: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
