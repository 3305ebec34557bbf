package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/callpulse/callpulse/deal"
)

// The funnel follows the clients who first got in touch during a period (a
// cohort) to today. The rules, which docs/api.md repeats for users:
//
//   - A client is an E.164 phone: client_phone of calls, phone of deals.
//   - A call's time is its start, or, if the PBX never reported one, its
//     answer, else its end. A deal's time is its creation.
//   - First contact = the earliest call or deal creation of the phone, over
//     all time. A client is a lead of the period that holds its first
//     contact, and of no other: a client called for the first time before
//     the period is not a lead of it, however often it is called in it, and
//     neither is a client whose first deal (a CRM lead) predates the period.
//     This is the union "first-ever call in the period, or CRM lead created
//     in it", with each client counted once, in its first period.
//   - reached = leads with an answered call, at any time (so far);
//     qualified = leads whose latest known grade (client_categories) is A
//     or B; won = leads with a won deal (so far); revenue = the sum of the
//     amounts of those won deals. Outcomes are counted whenever they
//     happened, so a period's numbers grow as its leads are worked: the
//     question answered is "what became of the leads this source brought
//     in that period?".
//   - Ad source of a client: the source of its clients row (import, CRM) if
//     set, else the source of its earliest deal that has one (CRM), else the
//     line source of its earliest call on a line that has one (call
//     tracking), else "unknown". Of two deals or calls at the same second,
//     the one with the smaller source name is the earlier, so the answer
//     never depends on storage order; of two grades with the same
//     valid_from, the one recorded last counts.
//
// Sources reads a row per phone from the phone rollup (sources.go);
// SourcesRaw folds every call through the calls view and is its reference.

// contactsSQL folds, per client phone, every call and deal of all time:
// first contact, the first line and deal sources, whether an answered call
// and a won deal exist, and the sum of won amounts in minor units.
const contactsSQL = `
SELECT
    phone,
    minIf(at, at > toDateTime(0)) AS first_contact,
    argMinIf(line_source, (at, line_source), line_source != '' AND at > toDateTime(0)) AS first_line_source,
    argMinIf(deal_source, (at, deal_source), deal_source != '' AND at > toDateTime(0)) AS first_deal_source,
    max(answered) AS reached,
    max(won_deal) AS won,
    sum(won_amount) AS revenue
FROM
(
    SELECT
        client_phone AS phone,
        multiIf(started_at > toDateTime(0), started_at, answered_at > toDateTime(0), answered_at, ended_at) AS at,
        line_source,
        '' AS deal_source,
        toUInt8(status = 'answered') AS answered,
        toUInt8(0) AS won_deal,
        toInt64(0) AS won_amount
    FROM calls
    WHERE client_phone != ''
    UNION ALL
    SELECT
        phone,
        created_at AS at,
        '' AS line_source,
        source AS deal_source,
        toUInt8(0) AS answered,
        toUInt8(stage = 'won') AS won_deal,
        if(stage = 'won', toInt64(amount * 100), toInt64(0)) AS won_amount
    FROM (` + latestDealsSQL + `)
    WHERE phone != ''
)
GROUP BY phone`

// latestDealsSQL is the newest version of every deal (FINAL: deals is a
// ReplacingMergeTree by version over (origin, deal_id); of two versions
// with the same number, which only one upsert can write, the later row).
const latestDealsSQL = `
    SELECT phone, stage, amount, loss_reason, source, manager, created_at, closed_at
    FROM deals FINAL`

// latestClientsSQL is the newest version of every client row.
const latestClientsSQL = `
    SELECT phone, source AS c_source, manager AS c_manager
    FROM clients
    ORDER BY phone, version DESC
    LIMIT 1 BY phone`

// adSourceExpr is a client's ad source from the joined columns.
const adSourceExpr = `multiIf(c_source != '', c_source, first_deal_source != '', first_deal_source,
        first_line_source != '', first_line_source, 'unknown')`

// currentCategorySQL is each phone's latest known grade: of its
// grade-history rows other than 'unknown', the one with the latest
// valid_from (then the newest recorded_at, then the larger category). %s
// is a further condition.
const currentCategorySQL = `
        SELECT phone, toString(argMax(category, (valid_from, recorded_at, category))) AS current_category
        FROM client_categories
        WHERE category != 'unknown' %s
        GROUP BY phone`

// sourcesRawSQL counts the period's leads per ad source, folding every
// call through the calls view. ClickHouse 18.16 allows one JOIN per
// SELECT, hence the nesting.
var sourcesRawSQL = `
SELECT
    ` + adSourceExpr + ` AS source,
    toUInt64(count()) AS leads,
    toUInt64(sum(reached)) AS reached_leads,
    toUInt64(countIf(current_category IN ('A', 'B'))) AS qualified,
    toUInt64(countIf(won > 0)) AS won_leads,
    toInt64(sum(revenue)) AS revenue_minor
FROM
(
    SELECT phone, first_line_source, first_deal_source, reached, won, revenue, c_source, current_category
    FROM
    (
        SELECT phone, first_line_source, first_deal_source, reached, won, revenue, c_source
        FROM
        (
            SELECT phone, first_line_source, first_deal_source, reached, won, revenue
            FROM (` + contactsSQL + `)
            WHERE first_contact >= ? AND first_contact < ?
        )
        ANY LEFT JOIN (` + latestClientsSQL + `) USING phone
    )
    ANY LEFT JOIN (` + fmt.Sprintf(currentCategorySQL, "") + `) USING phone
)
GROUP BY source
ORDER BY leads DESC, source`

// SourceRow is the funnel of one ad source for a period.
type SourceRow struct {
	Source    string
	Leads     uint64
	Reached   uint64
	Qualified uint64
	Won       uint64
	Revenue   deal.Amount
}

// SourcesRaw is Sources computed the straightforward way, folding every
// stored event through the calls view. It is the reference the
// pre-aggregated path is tested against and the baseline of `make bench`;
// it is slow on large data.
func (s *Store) SourcesRaw(ctx context.Context, p Period) ([]SourceRow, error) {
	start, end := p.bounds()
	rows, err := s.conn.Query(ctx, sourcesRawSQL, start, end)
	if err != nil {
		return nil, fmt.Errorf("query sources funnel (raw): %w", err)
	}
	defer rows.Close()
	var out []SourceRow
	for rows.Next() {
		var r SourceRow
		var revenue int64
		if err := rows.Scan(&r.Source, &r.Leads, &r.Reached, &r.Qualified, &r.Won, &revenue); err != nil {
			return nil, fmt.Errorf("scan sources funnel: %w", err)
		}
		r.Revenue = deal.Amount(revenue)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read sources funnel: %w", err)
	}
	return out, nil
}

// SourcesReport is the funnel per ad source over a period: which sources
// bring clients that are reached, qualified and bought.
type SourcesReport struct {
	From     string       `json:"from"`
	To       string       `json:"to"`
	Timezone string       `json:"timezone"`
	Sources  []SourceLine `json:"sources"`
}

// SourceLine is one source's funnel. UnreachableRate = 1 − reached/leads,
// Conversion = won/leads; a source is listed only with leads, so neither
// divides by zero.
type SourceLine struct {
	Source          string      `json:"source"`
	Leads           uint64      `json:"leads"`
	Reached         uint64      `json:"reached"`
	Qualified       uint64      `json:"qualified"`
	Won             uint64      `json:"won"`
	Revenue         deal.Amount `json:"revenue"`
	UnreachableRate float64     `json:"unreachable_rate"`
	Conversion      float64     `json:"conversion"`
}

// BuildSourcesReport adds the rates to the store's rows, keeping their
// order (leads descending, then source).
func BuildSourcesReport(p Period, rows []SourceRow) SourcesReport {
	rep := SourcesReport{
		From:     p.From.Format(time.DateOnly),
		To:       p.To.Format(time.DateOnly),
		Timezone: p.From.Location().String(),
		Sources:  make([]SourceLine, 0, len(rows)),
	}
	for _, r := range rows {
		line := SourceLine{Source: r.Source, Leads: r.Leads, Reached: r.Reached, Qualified: r.Qualified, Won: r.Won, Revenue: r.Revenue}
		if r.Leads > 0 {
			// (leads − reached)/leads is 1 − reached/leads without the
			// float noise of subtracting from 1.
			line.UnreachableRate = float64(r.Leads-r.Reached) / float64(r.Leads)
			line.Conversion = float64(r.Won) / float64(r.Leads)
		}
		rep.Sources = append(rep.Sources, line)
	}
	return rep
}
