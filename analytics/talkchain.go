package analytics

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// A talk-time snapshot is the sum of the talk_rollup rows of the refreshes
// on a chain: a root refresh (a whole snapshot, opening an epoch) and the
// delta refreshes that each add what changed between their base's cutoff
// and their own. A refresh's done marker (talk_refreshes) is written after
// its rows, so a refresh that crashed half way has no marker and its rows
// are on no chain. Two refreshers that start from the same head both write
// a valid child of it; readers follow only one of them (the head is the
// marker with the latest cutoff, then the smallest id), so the other's rows
// are never counted: concurrent and repeated refreshes are safe without
// locks.
//
// A refresh also keeps the call facts and the phone rollup (facts.go) of
// its generation, and records that in fact_refreshes before its marker.
// Only chains of such refreshes are read (factsHead): a refresh by an
// older callpulse, which kept talk_rollup alone, breaks the chains through
// it.

// factsLayout is the layout of the call facts this callpulse writes, as
// recorded in fact_refreshes: 1 since migration 0011 added the columns of
// the missed-call and speed-to-lead queries, 2 since the rebuild also
// writes calls_by_time (0012), 3 since the facts keep each call's status
// and the talk-time rollup counts every call by status (0015), 4 since the
// call facts were made again with finer granules (0016), 5 since the
// phone rollup keeps each phone's first inbound contact and first reach
// for speed to lead (0017), 6 since it keeps each phone's latest answered
// call and latest manager for open missed calls (0018). A generation of
// another layout is read as no facts, so the next refresh rebuilds. The
// view rollup_head reads the newest layout written (since 0018; before,
// each change made the view again with the new number), so a change of it
// needs no migration of its own.
const factsLayout = 6

// refreshMarker is one row of talk_refreshes.
type refreshMarker struct {
	epoch, id, base uint64
	cutoff          time.Time // the snapshot counts what arrived before it
	zone            string    // zone of the day rows written ("" for none)
	rebuilt         time.Time // cutoff of the last root built from calls_agg on this chain
	doneAt          time.Time
	generation      uint64 // of the call facts it kept; 0 if it kept none
}

// root reports whether the refresh wrote a whole snapshot.
func (m refreshMarker) root() bool { return m.base == 0 }

// idTime is when a refresh id was made (ids are milliseconds << 16 | random).
func idTime(id uint64) time.Time { return time.UnixMilli(int64(id >> 16)) }

// loadRefreshes reads every done marker still stored (the current epochs:
// superseded ones are dropped, so this stays small), with the generation
// of the facts each refresh kept.
func loadRefreshes(ctx context.Context, conn driver.Conn) ([]refreshMarker, error) {
	rows, err := conn.Query(ctx, `SELECT epoch, id, base, cutoff, zone, rebuilt, done_at, generation, layout
		FROM talk_refreshes ANY LEFT JOIN (SELECT id, generation, layout FROM fact_refreshes) USING id`)
	if err != nil {
		return nil, fmt.Errorf("read talk-time refreshes: %w", err)
	}
	defer rows.Close()
	var out []refreshMarker
	for rows.Next() {
		var m refreshMarker
		var layout uint8
		if err := rows.Scan(&m.epoch, &m.id, &m.base, &m.cutoff, &m.zone, &m.rebuilt, &m.doneAt, &m.generation,
			&layout); err != nil {
			return nil, fmt.Errorf("scan talk-time refresh: %w", err)
		}
		if layout != factsLayout {
			m.generation = 0 // facts of another layout are no facts to this callpulse
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read talk-time refreshes: %w", err)
	}
	return out, nil
}

// pickHead returns the newest snapshot whose chain is complete — the
// marker with the latest cutoff (then the smallest id) whose base links
// lead, within its epoch, to a root — and the refreshes on its chain, head
// first. ok is false when there is none.
func pickHead(markers []refreshMarker) (head refreshMarker, chain snapshotChain, ok bool) {
	byID := make(map[uint64]refreshMarker, len(markers))
	for _, m := range markers {
		byID[m.id] = m
	}
	cands := slices.Clone(markers)
	slices.SortFunc(cands, func(a, b refreshMarker) int {
		if c := b.cutoff.Compare(a.cutoff); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	for _, h := range cands {
		chain = chain[:0]
		for m := h; len(chain) <= len(markers); {
			chain = append(chain, m)
			if m.root() {
				if m.id == h.epoch {
					return h, chain, true
				}
				break
			}
			b, found := byID[m.base]
			if !found || b.epoch != h.epoch {
				break
			}
			m = b
		}
	}
	return refreshMarker{}, nil, false
}

// factsHead is pickHead over the refreshes that kept call facts, whose
// chain kept those of one generation: the snapshot the analytics read.
func factsHead(markers []refreshMarker) (head refreshMarker, chain snapshotChain, ok bool) {
	withFacts := make([]refreshMarker, 0, len(markers))
	for _, m := range markers {
		if m.generation != 0 {
			withFacts = append(withFacts, m)
		}
	}
	head, chain, ok = pickHead(withFacts)
	for _, m := range chain {
		if m.generation != head.generation {
			return refreshMarker{}, nil, false
		}
	}
	return head, chain, ok
}

// snapshotChain is the refreshes whose rows make up a snapshot.
type snapshotChain []refreshMarker

// idList returns the refresh ids, head first.
func (c snapshotChain) idList() []uint64 {
	ids := make([]uint64, len(c))
	for i, m := range c {
		ids[i] = m.id
	}
	return ids
}

// ids returns the refresh ids, for "refresh IN @chain".
func (c snapshotChain) ids() clickhouse.GroupSet {
	v := make([]any, len(c))
	for i, m := range c {
		v[i] = m.id
	}
	return clickhouse.GroupSet{Value: v}
}

// hasDays reports whether every refresh of the chain wrote the day rows
// of zone, so that the snapshot's days in zone can be read directly.
func (c snapshotChain) hasDays(zone string) bool {
	for _, m := range c {
		if m.zone != zone || zone == "" {
			return false
		}
	}
	return len(c) > 0
}
