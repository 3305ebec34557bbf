package analytics

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Repeat callers: inbound calls in a period from clients the team already
// knew before it. The rules, which docs/api.md repeats:
//
//   - Known since: the earliest of the client's first contact (first call
//     or deal creation, as in the funnel), the first stored version of its
//     clients row (import or CRM) and its first recorded grade.
//   - A repeat call is an inbound call (answered or not) in the period from
//     a client known since before the period started. So, except for
//     clients imported before the period but first in touch in it, a
//     period's inbound callers are either its new leads (/sources) or its
//     repeat callers, never both; a new lead calling twice in the period is
//     not a repeat caller of it.
//   - Source: as for missed calls, the line's ad source, else the client's.
//
// ClickHouse keeps only the newest version of a clients row once it merges
// the table, so for a client without a grade "first stored version" may
// become the latest import; graded clients keep their first grade's time.

// recordedSinceSQL is, per phone, the earliest time a clients row or a
// grade was recorded.
const recordedSinceSQL = `
    SELECT phone, min(since) AS recorded_since
    FROM
    (
        SELECT phone, updated_at AS since FROM clients WHERE updated_at > toDateTime(0)
        UNION ALL
        SELECT phone, valid_from AS since FROM client_categories WHERE valid_from > toDateTime(0)
    )
    GROUP BY phone`

// repeatSQL lists the period's inbound calls of clients known before it.
func repeatSQL(src callSource) string {
	return `
SELECT provider, call_id, phone, at, known_since, source
FROM
(
    SELECT provider, call_id, phone, at,
        if(recorded_since > toDateTime(0) AND recorded_since < first_contact, recorded_since, first_contact) AS known_since,
        ` + contactSourceExpr + ` AS source
    FROM
    (
        SELECT provider, call_id, phone, at, line_source, first_contact, first_line_source, first_deal_source, c_source
        FROM
        (
            SELECT provider, call_id, phone, at, line_source, first_contact, first_line_source, first_deal_source
            FROM
            (
                SELECT provider, call_id, client_phone AS phone, at, line_source
                FROM (` + src.period("direction = 'inbound' AND at >= @start AND at < @end") + `)
            )
            ANY LEFT JOIN (` + src.contacts + `) USING phone
        )
        ANY LEFT JOIN (` + latestClientsSQL + `) USING phone
    )
    ANY LEFT JOIN (` + recordedSinceSQL + `) USING phone
)
WHERE known_since < @start
ORDER BY at, provider, call_id`
}

var repeatQuery = sourced(repeatSQL)

// RepeatCall is an inbound call from a client known before the period.
// ClientPhone must never be logged.
type RepeatCall struct {
	Provider, CallID string
	ClientPhone      string
	Source           string
	At               time.Time // in the store's location
	KnownSince       time.Time // in the store's location
}

// RepeatCallers returns the period's repeat calls (see the rules above),
// oldest first.
//
// It reads the call facts of the newest snapshot and what changed since;
// without a snapshot it is RepeatCallersRaw.
func (s *Store) RepeatCallers(ctx context.Context, p Period) ([]RepeatCall, error) {
	r, err := s.reading(ctx)
	if err != nil {
		return nil, err
	}
	return s.repeatCallers(r, p)
}

// RepeatCallersRaw is RepeatCallers folding every stored call through the
// calls view: the reference RepeatCallers is tested against.
func (s *Store) RepeatCallersRaw(ctx context.Context, p Period) ([]RepeatCall, error) {
	return s.repeatCallers(rawReading(ctx), p)
}

func (s *Store) repeatCallers(r reading, p Period) ([]RepeatCall, error) {
	start, end := p.bounds()
	rows, err := s.conn.Query(r.ctx, r.form(repeatQuery), r.with(clickhouse.Named("start", start), clickhouse.Named("end", end))...)
	if err != nil {
		return nil, fmt.Errorf("query repeat callers: %w", err)
	}
	defer rows.Close()
	var out []RepeatCall
	for rows.Next() {
		var c RepeatCall
		if err := rows.Scan(&c.Provider, &c.CallID, &c.ClientPhone, &c.At, &c.KnownSince, &c.Source); err != nil {
			return nil, fmt.Errorf("scan repeat callers: %w", err)
		}
		c.At, c.KnownSince = c.At.In(s.loc), c.KnownSince.In(s.loc)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read repeat callers: %w", err)
	}
	return out, nil
}

// RepeatReport is the repeat callers of a period: counts per source and
// the calls.
type RepeatReport struct {
	From     string         `json:"from"`
	To       string         `json:"to"`
	Timezone string         `json:"timezone"`
	Sources  []RepeatSource `json:"sources"`
	Calls    []RepeatLine   `json:"calls"`
}

// RepeatSource counts one source's repeat calls and the distinct clients
// who made them.
type RepeatSource struct {
	Source  string `json:"source"`
	Calls   uint64 `json:"calls"`
	Clients uint64 `json:"clients"`
}

// RepeatLine is one repeat call.
type RepeatLine struct {
	Provider    string    `json:"provider"`
	CallID      string    `json:"call_id"`
	ClientPhone string    `json:"client_phone"`
	Source      string    `json:"source"`
	At          time.Time `json:"at"`
	KnownSince  time.Time `json:"known_since"`
}

// BuildRepeatReport counts the calls per source, sorted by calls,
// descending, then source; the calls keep the store's order.
func BuildRepeatReport(p Period, calls []RepeatCall) RepeatReport {
	rep := RepeatReport{
		From:     p.From.Format(time.DateOnly),
		To:       p.To.Format(time.DateOnly),
		Timezone: p.From.Location().String(),
		Sources:  []RepeatSource{},
		Calls:    make([]RepeatLine, 0, len(calls)),
	}
	bySource := map[string]*RepeatSource{}
	clients := map[[2]string]bool{}
	for _, c := range calls {
		rep.Calls = append(rep.Calls, RepeatLine{Provider: c.Provider, CallID: c.CallID, ClientPhone: c.ClientPhone,
			Source: c.Source, At: c.At, KnownSince: c.KnownSince})
		s := bySource[c.Source]
		if s == nil {
			s = &RepeatSource{Source: c.Source}
			bySource[c.Source] = s
		}
		s.Calls++
		if k := [2]string{c.Source, c.ClientPhone}; !clients[k] {
			clients[k] = true
			s.Clients++
		}
	}
	for _, s := range bySource {
		rep.Sources = append(rep.Sources, *s)
	}
	sort.Slice(rep.Sources, func(i, j int) bool {
		a, b := rep.Sources[i], rep.Sources[j]
		if a.Calls != b.Calls {
			return a.Calls > b.Calls
		}
		return a.Source < b.Source
	})
	return rep
}
