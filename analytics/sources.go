package analytics

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/callpulse/callpulse/deal"
)

// The funnel from the phone rollup: a client's calls are one row of
// phone_rollup instead of a fold of all its events, joined with its deals;
// the rules are those of funnel.go.

// dealFactsSQL is, per client phone, what the funnel needs of its deals
// (their newest versions): the earliest creation, the source of the
// earliest with one, whether one is won, and the won amounts in minor
// units.
const dealFactsSQL = `
        SELECT
            phone,
            minIf(created_at, created_at > toDateTime(0)) AS first_deal,
            argMinIf(source, (created_at, source), source != '' AND created_at > toDateTime(0)) AS deal_source,
            toUInt8(max(stage = 'won')) AS won,
            toInt64(sumIf(toInt64(amount * 100), stage = 'won')) AS revenue
        FROM (` + latestDealsSQL + `)
        WHERE phone != ''
        GROUP BY phone`

// rollupLeadsSQL is what the funnel needs of the phone rollup of
// generation @gen for the leads of the period [@start, @end): the rows of
// the phones first called in the period, and of those whose first deal
// was created in it (phonesTable), which are leads unless called earlier.
// %s is more columns to read (FINAL reads every row of them).
const rollupLeadsSQL = `
SELECT phone, first_at, source, answered%s
FROM phone_rollup FINAL
WHERE generation = @gen AND ((first_at >= @start AND first_at < @end) OR phone IN ` + phonesTable + `)`

// funnelLeadsSQL and speedLeadsSQL are rollupLeadsSQL for the funnel and
// for speed to lead, which also reads each phone's first inbound contact
// and first reach.
var funnelLeadsSQL, speedLeadsSQL = fmt.Sprintf(rollupLeadsSQL, ""),
	fmt.Sprintf(rollupLeadsSQL, ", first_inbound_at, reach_at, reach_manager")

// describeLeadsSQL is the client row's source and manager and the latest
// known grade of the phones of the set %[1]s that have a client row or a
// grade.
var describeLeadsSQL = `
SELECT phone, c_source, c_manager, current_category
FROM
(
    SELECT phone, source AS c_source, manager AS c_manager
    FROM clients
    WHERE phone IN %[1]s
    ORDER BY phone, version DESC
    LIMIT 1 BY phone
)
ANY FULL JOIN (` + fmt.Sprintf(currentCategorySQL, "AND phone IN %[1]s") + `) USING phone`

// describePhonesSQL is describeLeadsSQL of the phones in phonesTable.
var describePhonesSQL = fmt.Sprintf(describeLeadsSQL, phonesTable)

// candidatesSQL is a superset of the period's leads by the phone rollup
// of generation @gen and the deals (snapshotLeads): the phones with a
// rollup row whose first contact, or a deal version whose creation, falls
// in [@start, @end). A lead's first contact is one of those, so every lead
// is among them; reading neither FINAL nor the latest versions makes it
// cheap, and it needs no result of snapshotLeads.
const candidatesSQL = `(
    SELECT phone FROM
    (
        SELECT phone FROM phone_rollup
        WHERE generation = @gen AND first_at >= @start AND first_at < @end
        UNION ALL
        SELECT phone FROM deals
        WHERE phone != '' AND created_at >= @start AND created_at < @end
    )
)`

// describeCandidatesSQL is describeLeadsSQL of candidatesSQL: the client
// rows of the period's leads (and of a few phones that turn out not to
// be), in a query that runs beside snapshotLeads rather than after it.
var describeCandidatesSQL = fmt.Sprintf(describeLeadsSQL, candidatesSQL)

// lead is one lead of a period: what the funnel and speed to lead count of
// it.
type lead struct {
	firstLineSource, firstDealSource string
	reached, won                     bool
	revenue                          int64 // minor units
	// first is the first contact; firstInbound the first contact that
	// was inbound (a call not known to be outbound, or a deal's creation);
	// reachAt and reachManager the first answered call's reach time and
	// manager (zero and "" if none): speed to lead's facts.
	first, firstInbound, reachAt time.Time
	reachManager                 string
}

// dealFacts is what the funnel needs of one phone's deals (dealFactsSQL).
type dealFacts struct {
	first   time.Time // zero if none
	source  string
	won     bool
	revenue int64
}

// leadOf is the phone with calls c and deals d if its first contact falls
// in [start, end).
func leadOf(c *phoneFacts, d dealFacts, start, end time.Time) (lead, bool) {
	first := c.firstAt
	if first.IsZero() || (!d.first.IsZero() && d.first.Before(first)) {
		first = d.first
	}
	if first.IsZero() || first.Before(start) || !first.Before(end) {
		return lead{}, false
	}
	inbound := c.firstInbound
	if !d.first.IsZero() && (inbound.IsZero() || d.first.Before(inbound)) {
		inbound = d.first
	}
	return lead{firstLineSource: c.source, firstDealSource: d.source, reached: c.answered > 0, won: d.won,
		revenue: d.revenue, first: first, firstInbound: inbound, reachAt: c.reachAt, reachManager: c.reachManager}, true
}

// Sources returns the funnel per ad source of the clients whose first
// contact falls in the period (see the rules in funnel.go), sorted by
// leads, descending, then by source. Sources without leads are absent.
//
// It reads the phone rollup of the newest snapshot Rollup published, with
// the phones whose calls changed since folded here, so it is exact whether
// the refresher runs, lags or is stopped; without a snapshot it is
// SourcesRaw. The deal facts and the leads' client sources and grades
// come from the rows the Store keeps (keptRows) while their tables are
// unchanged.
func (s *Store) Sources(ctx context.Context, p Period) ([]SourceRow, error) {
	head, _, ok, err := factsSnapshot(ctx, s.conn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return s.SourcesRaw(ctx, p)
	}
	leads, clients, err := s.periodLeads(ctx, head, p, false)
	if err != nil {
		return nil, err
	}
	return countLeads(leads, clients), nil
}

// periodLeads returns the leads of the period by the snapshot head and
// the phones changed since, with the client rows of (at least) those
// leads, which the caller must not change. With speed, the leads carry
// speed to lead's facts too (first inbound contact, first reach).
func (s *Store) periodLeads(ctx context.Context, head refreshMarker, p Period, speed bool) (map[string]lead,
	map[string]leadClient, error) {
	start, end := p.bounds()
	// Every phone's deal facts, and the client rows: those the Store keeps,
	// or, on replicated tables, every phone's deal facts read here and the
	// client rows read below for a superset of the leads and for the phones
	// changed since.
	parts, err := s.keptParts(ctx)
	if err != nil {
		return nil, nil, err
	}
	var clients map[string]leadClient
	var deals map[string]dealFacts
	var clientsKept bool
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		clients, clientsKept, err = s.clients.get(gctx, s, parts)
		return err
	})
	g.Go(func() (err error) {
		deals, err = s.deals.load(gctx, s, parts)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	changedClients := map[string]leadClient{}
	if !clientsKept {
		clients = map[string]leadClient{}
	}
	// The snapshot's leads, their client rows, and the phones changed since
	// (followed by their calls and client rows) are independent reads: run
	// them side by side.
	leads, changed := map[string]lead{}, map[string]lead{}
	var fresh map[string]*phoneFacts
	g, gctx = errgroup.WithContext(ctx)
	g.Go(func() error { return s.snapshotLeads(gctx, head.generation, start, end, deals, speed, leads) })
	if !clientsKept {
		g.Go(func() error {
			return s.describe(gctx, clients, describeCandidatesSQL, clickhouse.Named("gen", head.generation),
				clickhouse.Named("start", start), clickhouse.Named("end", end))
		})
	}
	g.Go(func() error {
		calls, phones, err := freshPhones(gctx, s.conn, head.cutoff, speed)
		if err != nil || len(phones) == 0 {
			return err
		}
		// Their calls and client rows are independent reads too.
		h, hctx := errgroup.WithContext(gctx)
		h.Go(func() (err error) {
			fresh, err = freshPhoneFacts(hctx, s.conn, head.generation, head.cutoff, calls, phones)
			return err
		})
		if !clientsKept {
			h.Go(func() error { return s.leadClients(hctx, phones, changedClients) })
		}
		if err := h.Wait(); err != nil {
			return err
		}
		for phone, c := range fresh {
			if l, ok := leadOf(c, deals[phone], start, end); ok {
				changed[phone] = l
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	for phone := range fresh {
		delete(leads, phone)
	}
	maps.Copy(leads, changed)
	if !clientsKept {
		maps.Copy(clients, changedClients) // kept rows are shared: never written
	}
	return leads, clients, nil
}

// snapshotLeads adds the period's leads by the phone rollup of generation
// gen and every phone's deal facts to leads; with speed, with speed to
// lead's facts.
func (s *Store) snapshotLeads(ctx context.Context, gen uint64, start, end time.Time, deals map[string]dealFacts,
	speed bool, leads map[string]lead) error {
	// The phones whose first deal falls in the period: leads unless their
	// first call came earlier, which their rollup row tells.
	var dealFirst []string
	for phone, d := range deals {
		if !d.first.IsZero() && !d.first.Before(start) && d.first.Before(end) {
			dealFirst = append(dealFirst, phone)
		}
	}
	qctx, err := withPhones(ctx, slices.Values(dealFirst))
	if err != nil {
		return err
	}
	var phone string
	var c phoneFacts
	q, dest := funnelLeadsSQL, []any{&phone, &c.firstAt, &c.source, &c.answered}
	if speed {
		q, dest = speedLeadsSQL, append(dest, &c.firstInbound, &c.reachAt, &c.reachManager)
	}
	rows, err := s.conn.Query(qctx, q, clickhouse.Named("gen", gen), clickhouse.Named("start", start),
		clickhouse.Named("end", end))
	if err != nil {
		return fmt.Errorf("query the phone rollup of leads: %w", err)
	}
	defer rows.Close()
	called := map[string]bool{}
	for rows.Next() {
		c = phoneFacts{}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan the phone rollup of a lead: %w", err)
		}
		c.firstAt, c.firstInbound, c.reachAt = unknownZero(c.firstAt), unknownZero(c.firstInbound), unknownZero(c.reachAt)
		called[phone] = true
		if l, ok := leadOf(&c, deals[phone], start, end); ok {
			leads[phone] = l
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the phone rollup of leads: %w", err)
	}
	for _, phone := range dealFirst {
		if called[phone] {
			continue
		}
		if l, ok := leadOf(&phoneFacts{}, deals[phone], start, end); ok {
			leads[phone] = l
		}
	}
	return nil
}

// leadClient is what the funnel and speed to lead need of a lead's client
// row and grades: its ad source and responsible manager, and its latest
// known grade.
type leadClient struct{ source, manager, category string }

// leadClients adds the client source and manager and latest grade of those
// of phones that have a client row or a grade to clients.
func (s *Store) leadClients(ctx context.Context, phones []string, clients map[string]leadClient) error {
	if len(phones) == 0 {
		return nil
	}
	qctx, err := withPhones(ctx, slices.Values(phones))
	if err != nil {
		return err
	}
	return s.describe(qctx, clients, describePhonesSQL)
}

// describe runs a describeLeadsSQL query and adds its rows to clients.
func (s *Store) describe(ctx context.Context, clients map[string]leadClient, q string, args ...any) error {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query the clients of leads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var phone string
		var c leadClient
		if err := rows.Scan(&phone, &c.source, &c.manager, &c.category); err != nil {
			return fmt.Errorf("scan client of a lead: %w", err)
		}
		clients[phone] = c
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read clients of leads: %w", err)
	}
	return nil
}

// countLeads sums the leads per ad source, sorted by leads, descending,
// then by source; nil without leads.
func countLeads(leads map[string]lead, clients map[string]leadClient) []SourceRow {
	bySource := map[string]*SourceRow{}
	for phone, l := range leads {
		c := clients[phone]
		source := cmp.Or(c.source, l.firstDealSource, l.firstLineSource, "unknown")
		r := bySource[source]
		if r == nil {
			r = &SourceRow{Source: source}
			bySource[source] = r
		}
		r.Leads++
		if l.reached {
			r.Reached++
		}
		if c.category == "A" || c.category == "B" {
			r.Qualified++
		}
		if l.won {
			r.Won++
		}
		r.Revenue += deal.Amount(l.revenue)
	}
	var out []SourceRow
	for _, r := range bySource {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b SourceRow) int {
		return cmp.Or(cmp.Compare(b.Leads, a.Leads), cmp.Compare(a.Source, b.Source))
	})
	return out
}
