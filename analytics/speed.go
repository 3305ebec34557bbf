package analytics

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Speed to lead: how long a new lead waited until someone talked to them.
// The rules, which docs/api.md repeats:
//
//   - Leads are the funnel's leads of the period (first contact ever — first
//     call or deal creation — in the period; see funnel.go) whose first
//     contact is inbound: an inbound call (or one of unknown direction) or a
//     deal creation (a CRM lead). A client we called first (a cold call)
//     never waited and is not counted, so these leads are a subset of the
//     /sources leads.
//   - Reached at: the answer time of the client's first answered call,
//     inbound or outbound (its time — start, else end — if the PBX gave no
//     answer time); of two reached in the same second, the smaller manager.
//     Delay = reached at − first contact, in seconds. A missed first
//     contact therefore counts until the callback is answered, and an
//     answered first call counts its ringing time.
//   - A lead not reached yet has an open, still growing delay: it counts in
//     leads but not in reached, median, p90 or within SLA; leads − reached
//     is "not reached yet".
//   - Manager: the manager (extension) of the first answered call; for a
//     lead not reached yet, the client's responsible manager
//     (clients.manager), else "". Managers are grouped by configured
//     manager id, so that the medians of a manager with two extensions are
//     of all their leads.
//   - Source: the client's ad source as in the funnel.
//   - Median and p90 are ClickHouse's quantileExact: of the n delays sorted
//     ascending, the one at 0-based position ⌊q·n⌋ (for an even n, the
//     upper of the two middle values); 0 when no lead is reached.
//   - Within SLA: reached leads with delay <= the callback SLA.

// leadPhonesSQL is the phones of the period's leads (first contact in
// [@start, @end)) from src: those whose calls speedFactsSQL folds.
func leadPhonesSQL(src callSource) string {
	return `SELECT phone FROM (` + src.contacts + `) WHERE first_contact >= @start AND first_contact < @end`
}

// speedFactsSQL folds, per client phone of the period's leads (the
// external table phonesTable), the calls and deals from the period start
// on: the first inbound contact (inbound or unknown-direction call, or
// deal creation) and the first answered call. A lead's contacts all lie at
// or after its first contact, itself in the period, so nothing earlier is
// needed.
func speedFactsSQL(src callSource) string {
	return `
SELECT
    phone,
    minIf(at, inbound = 1) AS first_inbound,
    minIf(reach_at, answered = 1) AS reached_at,
    tupleElement(minIf((reach_at, manager), answered = 1), 2) AS reached_manager
FROM
(
    SELECT
        client_phone AS phone,
        at,
        toUInt8(direction != 'outbound') AS inbound,
        answered,
        if(answered_at > toDateTime(0), answered_at, at) AS reach_at,
        manager
    FROM (` + src.calls("at >= @start AND client_phone IN "+phonesTable) + `)
    UNION ALL
    SELECT phone, created_at AS at, toUInt8(1) AS inbound, toUInt8(0) AS answered, created_at AS reach_at, '' AS manager
    FROM (` + latestDealsSQL + `)
    WHERE phone IN ` + phonesTable + ` AND created_at >= @start
)
GROUP BY phone`
}

// speedSQL groups the period's inbound leads by manager and source. The
// manager key is mapped from extensions and ids to manager ids with
// transform(); the mapping arrays always start with an empty string mapped
// to itself because 18.16 rejects empty arrays there. The period is
// [@start, @end), the SLA @sla seconds, the mapping @map_from → @map_to.
func speedSQL(src callSource) string {
	return `
SELECT
    manager,
    source,
    toUInt64(count()) AS leads,
    toUInt64(sum(reached)) AS reached_leads,
    toFloat64(quantilesExactIf(0.5, 0.9)(delay, reached = 1)[1]) AS median_seconds,
    toFloat64(quantilesExactIf(0.5, 0.9)(delay, reached = 1)[2]) AS p90_seconds,
    toUInt64(countIf(reached = 1 AND delay <= @sla)) AS within_sla
FROM
(
    SELECT
        transform(raw_manager, @map_from, @map_to, raw_manager) AS manager,
        ` + adSourceExpr + ` AS source,
        reached,
        delay
    FROM
    (
        SELECT
            if(reached_at > toDateTime(0), reached_manager, c_manager) AS raw_manager,
            toUInt8(reached_at > toDateTime(0)) AS reached,
            greatest(toInt64(reached_at) - toInt64(first_contact), toInt64(0)) AS delay,
            first_line_source, first_deal_source, c_source
        FROM
        (
            SELECT phone, first_contact, first_line_source, first_deal_source, first_inbound, reached_at, reached_manager
            FROM
            (
                SELECT phone, first_contact, first_line_source, first_deal_source
                FROM (` + src.contacts + `)
                WHERE first_contact >= @start AND first_contact < @end
            )
            ANY LEFT JOIN (` + speedFactsSQL(src) + `) USING phone
        )
        ANY LEFT JOIN (` + latestClientsSQL + `) USING phone
        WHERE first_inbound = first_contact
    )
)
GROUP BY manager, source
ORDER BY manager, source`
}

// speedRawSQL and leadPhonesRawSQL read the calls view (SpeedToLeadRaw).
var speedRawSQL, leadPhonesRawSQL = speedSQL(rawSource), leadPhonesSQL(rawSource)

// SpeedRow is speed to lead of the leads of one manager and source.
type SpeedRow struct {
	// Manager is the configured manager id (when the stored extension or id
	// is configured), else the extension or id as stored; "" for leads not
	// reached and not assigned.
	Manager string
	Source  string
	// Leads counts the inbound leads; Reached those with an answered call.
	Leads, Reached uint64
	// MedianSeconds and P90Seconds are over the reached leads; 0 when none.
	MedianSeconds, P90Seconds float64
	// WithinSLA counts reached leads with a delay of at most the SLA.
	WithinSLA uint64
}

// SpeedToLead returns speed to lead of the period's inbound leads (see the
// rules above) per manager and ad source, sorted by manager and source.
// team maps extensions to managers (nil: every extension on its own).
//
// Its leads are the funnel's (Sources: the phone rollup of the newest
// snapshot and the phones changed since, the kept deal facts and client
// rows), and each lead's first inbound contact and first reach come with
// them: a lead's calls all lie at or after its first contact, so the
// whole-history facts of the phone rollup are those of the rules. Without
// a snapshot it is SpeedToLeadRaw.
func (s *Store) SpeedToLead(ctx context.Context, p Period, sla time.Duration, team *Team) ([]SpeedRow, error) {
	head, _, ok, err := factsSnapshot(ctx, s.conn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return s.SpeedToLeadRaw(ctx, p, sla, team)
	}
	leads, clients, err := s.periodLeads(ctx, head, p, true)
	if err != nil {
		return nil, err
	}
	return speedOfLeads(leads, clients, sla, team), nil
}

// speedOfLeads groups the inbound ones of leads by manager and source and
// takes their delays' median and p90 as quantileExact does (speedSQL).
func speedOfLeads(leads map[string]lead, clients map[string]leadClient, sla time.Duration, team *Team) []SpeedRow {
	from, to := managerMapping(team)
	managerOf := make(map[string]string, len(from))
	for i, f := range from {
		if _, ok := managerOf[f]; !ok {
			managerOf[f] = to[i]
		}
	}
	type group struct {
		row    SpeedRow
		delays []int64
	}
	groups := map[[2]string]*group{}
	for phone, l := range leads {
		if l.firstInbound.IsZero() || !l.firstInbound.Equal(l.first) {
			continue // first contacted by us: never waited
		}
		c := clients[phone]
		manager, reached := c.manager, !l.reachAt.IsZero()
		if reached {
			manager = l.reachManager
		}
		if m, ok := managerOf[manager]; ok {
			manager = m
		}
		k := [2]string{manager, cmp.Or(c.source, l.firstDealSource, l.firstLineSource, "unknown")}
		g := groups[k]
		if g == nil {
			g = &group{row: SpeedRow{Manager: k[0], Source: k[1]}}
			groups[k] = g
		}
		g.row.Leads++
		if reached {
			delay := max(l.reachAt.Unix()-l.first.Unix(), 0)
			g.row.Reached++
			g.delays = append(g.delays, delay)
			if delay <= int64(sla/time.Second) {
				g.row.WithinSLA++
			}
		}
	}
	var out []SpeedRow
	for _, g := range groups {
		slices.Sort(g.delays)
		g.row.MedianSeconds, g.row.P90Seconds = quantileExact(g.delays, 0.5), quantileExact(g.delays, 0.9)
		out = append(out, g.row)
	}
	slices.SortFunc(out, func(a, b SpeedRow) int {
		return cmp.Or(cmp.Compare(a.Manager, b.Manager), cmp.Compare(a.Source, b.Source))
	})
	return out
}

// quantileExact is ClickHouse's quantileExact(q) of sorted values, q < 1:
// the value at 0-based position ⌊q·n⌋; 0 without values.
func quantileExact(sorted []int64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(q*float64(len(sorted)))])
}

// SpeedToLeadRaw is SpeedToLead folding every stored call through the
// calls view: the reference SpeedToLead is tested against. It reads the
// period's leads, then folds their calls and deals (speedSQL).
func (s *Store) SpeedToLeadRaw(ctx context.Context, p Period, sla time.Duration, team *Team) ([]SpeedRow, error) {
	start, end := p.bounds()
	period := []any{clickhouse.Named("start", start), clickhouse.Named("end", end)}
	leads, err := s.leadPhones(ctx, period)
	if err != nil || len(leads) == 0 {
		return nil, err
	}
	qctx, err := withPhones(ctx, slices.Values(leads))
	if err != nil {
		return nil, err
	}
	from, to := managerMapping(team)
	rows, err := s.conn.Query(qctx, speedRawSQL, append(period,
		clickhouse.Named("sla", int64(sla/time.Second)), clickhouse.Named("map_from", from),
		clickhouse.Named("map_to", to))...)
	if err != nil {
		return nil, fmt.Errorf("query speed to lead: %w", err)
	}
	defer rows.Close()
	var out []SpeedRow
	for rows.Next() {
		var r SpeedRow
		if err := rows.Scan(&r.Manager, &r.Source, &r.Leads, &r.Reached, &r.MedianSeconds, &r.P90Seconds, &r.WithinSLA); err != nil {
			return nil, fmt.Errorf("scan speed to lead: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read speed to lead: %w", err)
	}
	return out, nil
}

// leadPhones runs leadPhonesSQL on the calls view.
func (s *Store) leadPhones(ctx context.Context, period []any) ([]string, error) {
	rows, err := s.conn.Query(ctx, leadPhonesRawSQL, period...)
	if err != nil {
		return nil, fmt.Errorf("query the period's leads: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var phone string
		if err := rows.Scan(&phone); err != nil {
			return nil, fmt.Errorf("scan the period's leads: %w", err)
		}
		out = append(out, phone)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the period's leads: %w", err)
	}
	return out, nil
}

// managerMapping returns parallel arrays mapping every configured extension
// and manager id to the manager id, led by the identity pair (”, ”).
func managerMapping(team *Team) (from, to []string) {
	from, to = []string{""}, []string{""}
	if team == nil {
		return from, to
	}
	ids := team.IDs()
	for _, id := range ids {
		from, to = append(from, id), append(to, id)
	}
	exts := make([]string, 0, len(team.byExt))
	for ext := range team.byExt {
		exts = append(exts, ext)
	}
	sort.Strings(exts)
	for _, ext := range exts {
		if _, isID := team.byID[ext]; isID {
			continue // an id wins over an extension spelled the same
		}
		from, to = append(from, ext), append(to, team.byExt[ext].ID)
	}
	return from, to
}

// SpeedReport is speed to lead over a period.
type SpeedReport struct {
	From       string      `json:"from"`
	To         string      `json:"to"`
	Timezone   string      `json:"timezone"`
	SLASeconds int64       `json:"sla_seconds"`
	Rows       []SpeedLine `json:"rows"`
}

// SpeedLine is one manager's and source's speed to lead.
type SpeedLine struct {
	Manager       string  `json:"manager"`
	ManagerName   string  `json:"manager_name"`
	Source        string  `json:"source"`
	Leads         uint64  `json:"leads"`
	Reached       uint64  `json:"reached"`
	MedianSeconds float64 `json:"median_seconds"`
	P90Seconds    float64 `json:"p90_seconds"`
	WithinSLA     uint64  `json:"within_sla"`
}

// BuildSpeedReport adds manager names, keeping the store's order.
func BuildSpeedReport(p Period, rows []SpeedRow, team *Team, sla time.Duration) SpeedReport {
	rep := SpeedReport{
		From:       p.From.Format(time.DateOnly),
		To:         p.To.Format(time.DateOnly),
		Timezone:   p.From.Location().String(),
		SLASeconds: int64(sla / time.Second),
		Rows:       make([]SpeedLine, 0, len(rows)),
	}
	for _, r := range rows {
		line := SpeedLine{Source: r.Source, Leads: r.Leads, Reached: r.Reached,
			MedianSeconds: r.MedianSeconds, P90Seconds: r.P90Seconds, WithinSLA: r.WithinSLA}
		line.Manager, line.ManagerName = managerOf(team, r.Manager)
		rep.Rows = append(rep.Rows, line)
	}
	return rep
}
