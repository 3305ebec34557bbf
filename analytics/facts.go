package analytics

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callpulse/callpulse/call"
)

// The call facts and the phone rollup (migration 0009) pre-aggregate what
// the funnel and the call queue need of every client's calls, and what a
// re-grade changes in talk time, so that those queries read a row per
// phone instead of folding every stored event. The refresher (Rollup)
// keeps them with the talk-time snapshots, from the same changes.
//
// Every row is exact "as of" its version: it is a function of the events
// that reached ClickHouse before that time (calls_agg's `at`), so rows
// written by refreshers that lost a race or crashed are not wrong, only
// possibly old. The rules that make "the newest row" right:
//
//   - A refresh from cutoff B to T lists each call with events in [B, T)
//     under its phone as of B, as of T, and the phones of the events that
//     arrived (changedCall.phones): every phone the call could have been
//     listed under by anyone since B. A call's phone is the largest of
//     its events' phones, so it only ever grows.
//   - It then rewrites the phone rollup of exactly those phones, from the
//     newest call facts at or before T.
//   - A reader of the snapshot as of H takes the newest phone rollup row
//     of every phone, except the phones of calls with events since H,
//     which it folds itself: their call facts at or before H for the calls
//     without events since, and the fresh fold of the others.

// phoneFacts is what the phone rollup keeps of one phone's calls.
type phoneFacts struct {
	calls    uint32
	firstAt  time.Time // earliest contact time; zero if none is known
	sourceAt time.Time // the earliest (contact time, line source) of a call on a line with a source
	source   string
	answered uint32
	// firstInbound is the earliest contact time of a call not known to be
	// outbound; reachAt and reachManager are the reach time (its answer,
	// else its contact time) and manager of the answered call reached
	// first, of two in the same second the smaller manager. Calls without
	// a contact time count in neither: speed to lead's rules.
	firstInbound, reachAt time.Time
	reachManager          string
	// lastAnswered is the latest contact time of an answered call;
	// lastManagedAt and lastManager the latest (contact time, manager) of
	// an answered call with a manager, of two in the same second the
	// larger manager: what open missed calls and their owners need.
	lastAnswered, lastManagedAt time.Time
	lastManager                 string
}

// phoneCall is what the phone rollup counts of one call of a phone.
type phoneCall struct {
	contact    time.Time // its time: start, else answer, else end; zero if none
	source     string    // its line's ad source
	answered   bool
	outbound   bool
	answeredAt time.Time // zero if the PBX reported none
	manager    string
}

// callOf is what the phone rollup counts of the fold f of a call.
func callOf(f foldSide) phoneCall {
	return phoneCall{contact: f.contactAt(), source: f.lineSource, answered: f.answeredCall(),
		outbound: f.direction == call.DirectionOutbound, answeredAt: f.answered, manager: f.manager}
}

// add counts one call of the phone.
func (p *phoneFacts) add(c phoneCall) {
	p.calls++
	if c.answered {
		p.answered++
	}
	if c.contact.IsZero() {
		return
	}
	if p.firstAt.IsZero() || c.contact.Before(p.firstAt) {
		p.firstAt = c.contact
	}
	if c.source != "" && (p.sourceAt.IsZero() || c.contact.Before(p.sourceAt) ||
		(c.contact.Equal(p.sourceAt) && c.source < p.source)) {
		p.sourceAt, p.source = c.contact, c.source
	}
	if !c.outbound && (p.firstInbound.IsZero() || c.contact.Before(p.firstInbound)) {
		p.firstInbound = c.contact
	}
	if c.answered {
		reach := c.contact
		if !c.answeredAt.IsZero() {
			reach = c.answeredAt
		}
		if p.reachAt.IsZero() || reach.Before(p.reachAt) || (reach.Equal(p.reachAt) && c.manager < p.reachManager) {
			p.reachAt, p.reachManager = reach, c.manager
		}
		if c.contact.After(p.lastAnswered) {
			p.lastAnswered = c.contact
		}
		if c.manager != "" && (c.contact.After(p.lastManagedAt) ||
			(c.contact.Equal(p.lastManagedAt) && c.manager > p.lastManager)) {
			p.lastManagedAt, p.lastManager = c.contact, c.manager
		}
	}
}

// writeCallFacts lists the changed calls, as of version, under their
// phones, in generation gen.
func writeCallFacts(ctx context.Context, conn driver.Conn, gen uint64, version time.Time, changed []changedCall) error {
	batch, err := conn.PrepareBatch(ctx, `INSERT INTO call_facts (generation, phone, provider, call_id, version, owner,
		contact_at, line_source, answered, started_at, manager, seconds, direction, answered_at, finished, status)`)
	if err != nil {
		return fmt.Errorf("prepare call_facts batch: %w", err)
	}
	defer batch.Abort()
	n := 0
	for _, c := range changed {
		f := c.new
		for _, phone := range c.phones() {
			if err := batch.Append(gen, phone, c.provider, c.callID, version, f.phone, chTime(f.contactAt()),
				f.lineSource, boolUInt8(f.answeredCall()), chTime(f.started), f.manager, f.talk(),
				int8(f.direction), chTime(f.answered), boolUInt8(f.finished()), f.viewStatus().String()); err != nil {
				return fmt.Errorf("append call_facts row: %w", err)
			}
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d call_facts rows: %w", n, err)
	}
	return nil
}

// phoneFactsAsOf folds, per phone, the calls each of phones had as of
// asof by the call facts of generation gen, leaving out the calls in
// skip. Every phone asked for is in the result.
func phoneFactsAsOf(ctx context.Context, conn driver.Conn, gen uint64, asof time.Time, phones []string,
	skip map[callKey]bool) (map[string]*phoneFacts, error) {
	out := make(map[string]*phoneFacts, len(phones))
	for _, p := range phones {
		out[p] = &phoneFacts{}
	}
	if len(phones) == 0 {
		return out, nil
	}
	qctx, err := withPhones(ctx, slices.Values(phones))
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(qctx, phoneCallsFunnelSQL, clickhouse.Named("gen", gen), clickhouse.Named("asof", asof))
	if err != nil {
		return nil, fmt.Errorf("query call facts of %d phones: %w", len(phones), err)
	}
	defer rows.Close()
	for rows.Next() {
		var phone string
		var k callKey
		var c phoneCall
		var answered, outbound uint8
		if err := rows.Scan(&phone, &k.provider, &k.callID, &c.contact, &c.source, &answered, &outbound,
			&c.answeredAt, &c.manager); err != nil {
			return nil, fmt.Errorf("scan call facts: %w", err)
		}
		if !skip[k] {
			c.contact, c.answeredAt = unknownZero(c.contact), unknownZero(c.answeredAt)
			c.answered, c.outbound = answered == 1, outbound == 1
			out[phone].add(c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read call facts: %w", err)
	}
	return out, nil
}

// writePhoneRollup writes the phone rollup rows of facts as of version in
// generation gen.
func writePhoneRollup(ctx context.Context, conn driver.Conn, gen uint64, version time.Time, facts map[string]*phoneFacts) error {
	if len(facts) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, `INSERT INTO phone_rollup (generation, phone, version, calls, first_at,
		source_at, source, answered, first_inbound_at, reach_at, reach_manager, last_answered_at, last_managed_at,
		last_manager)`)
	if err != nil {
		return fmt.Errorf("prepare phone_rollup batch: %w", err)
	}
	defer batch.Abort()
	for phone, f := range facts {
		if err := batch.Append(gen, phone, version, f.calls, chTime(f.firstAt), chTime(f.sourceAt), f.source, f.answered,
			chTime(f.firstInbound), chTime(f.reachAt), f.reachManager, chTime(f.lastAnswered), chTime(f.lastManagedAt),
			f.lastManager); err != nil {
			return fmt.Errorf("append phone_rollup row: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d phone_rollup rows: %w", len(facts), err)
	}
	return nil
}

// refreshFacts brings the call facts and the phone rollup of generation
// gen up to cutoff to, given the calls changed since the previous cutoff
// (foldChanges).
func refreshFacts(ctx context.Context, conn driver.Conn, gen uint64, to time.Time, changed []changedCall) error {
	if err := writeCallFacts(ctx, conn, gen, to, changed); err != nil {
		return err
	}
	facts, err := phoneFactsAsOf(ctx, conn, gen, to, changedPhones(changed), nil)
	if err != nil {
		return err
	}
	return writePhoneRollup(ctx, conn, gen, to, facts)
}

// changedPhones is every phone of the changed calls, sorted.
func changedPhones(changed []changedCall) []string {
	set := map[string]struct{}{}
	for _, c := range changed {
		for _, p := range c.phones() {
			set[p] = struct{}{}
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// freshPhones returns the calls with events since the snapshot as of
// cutoff, and their phones: those whose facts may have changed since.
// With managers the fold keeps each call's manager, which the phone facts'
// first reach needs (speed to lead); without, their first reach and latest
// manager have none.
func freshPhones(ctx context.Context, conn driver.Conn, cutoff time.Time, managers bool) ([]changedCall, []string, error) {
	changed, err := foldChanges(ctx, conn, cutoff, time.Time{}, "UTC", managers)
	if err != nil {
		return nil, nil, err
	}
	return changed, changedPhones(changed), nil
}

// freshPhoneFacts returns the facts now of the phones of changed (the
// calls with events since the snapshot as of cutoff of generation gen):
// its call facts for the calls without events since, and the fresh fold
// of the others.
func freshPhoneFacts(ctx context.Context, conn driver.Conn, gen uint64, cutoff time.Time, changed []changedCall,
	phones []string) (map[string]*phoneFacts, error) {
	skip := make(map[callKey]bool, len(changed))
	for _, c := range changed {
		skip[callKey{c.provider, c.callID}] = true
	}
	facts, err := phoneFactsAsOf(ctx, conn, gen, cutoff, phones, skip)
	if err != nil {
		return nil, err
	}
	for _, c := range changed {
		if f := c.new; f.phone != "" {
			facts[f.phone].add(callOf(f))
		}
	}
	return facts, nil
}

// factsSnapshot is the newest snapshot with facts, if there is one.
func factsSnapshot(ctx context.Context, conn driver.Conn) (refreshMarker, snapshotChain, bool, error) {
	markers, err := loadRefreshes(ctx, conn)
	if err != nil {
		return refreshMarker{}, nil, false, err
	}
	head, chain, ok := factsHead(markers)
	return head, chain, ok, nil
}

// chTime is t as ClickHouse's DateTime of the fold: the epoch for unknown.
func chTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t
}

func boolUInt8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
