package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Defaults of RollupOptions.
const (
	DefaultRollupInterval = 5 * time.Second
	DefaultRollupMargin   = 5 * time.Second
	DefaultRollupMaxChain = 720
	DefaultRollupRebuild  = 24 * time.Hour
)

// Time limits of refresh steps.
const (
	// deltaTimeout bounds a delta or compacting refresh.
	deltaTimeout = 5 * time.Minute
	// rebuildTimeout bounds building a root from calls_agg.
	rebuildTimeout = time.Hour
	// quorumTimeout bounds the wait of a replicated refresh's insert for
	// the other replicas to fetch its rows (writeSettings).
	quorumTimeout = time.Minute
)

// RollupOptions tune the talk-time rollup refresher. The zero value means
// the defaults.
type RollupOptions struct {
	// Zone is the time zone whose calendar days the refresher also keeps
	// (the configured one): TalkTime in that zone reads a row per day
	// instead of one per quarter hour. Other zones are served too, from
	// the quarter hours. Nil, or time.Local, keeps quarter hours only.
	Zone *time.Location
	// Interval is the time between refreshes in Run (DefaultRollupInterval).
	Interval time.Duration
	// Margin is how far the cutoff of a snapshot stays behind ClickHouse's
	// clock (DefaultRollupMargin). A snapshot as of T must see everything
	// stamped before T, so Margin must exceed the time an insert takes to
	// become visible after its materialized view stamped it (milliseconds
	// to a second). Queries are exact whatever it is; it only sets how much
	// of the newest data they fold themselves.
	Margin time.Duration
	// MaxChain is how many delta refreshes may follow a root before the
	// next refresh compacts them into a new root (DefaultRollupMaxChain).
	MaxChain int
	// RebuildEvery is how often a root is rebuilt from calls_agg instead of
	// compacted (DefaultRollupRebuild); negative means never after the
	// first. A rebuild costs a full fold of calls_agg and writing every
	// call's facts (minutes at 10M calls on 2 cores), and re-derives
	// everything from the events.
	RebuildEvery time.Duration
	// Partitions lists and drops the partitions of the rollup's tables by
	// their logical names; *warehouse.DB does, finding a cluster's local
	// tables (the Distributed tables have no parts). Nil: system.parts of
	// the connection's database, for a single server.
	Partitions Partitions
	// Logger receives a line per root and every failure.
	Logger *slog.Logger
}

// Rollup keeps the analytics rollups current: the talk-time snapshots
// (talk_rollup), the call facts and the phone rollup (facts.go). Each
// Refresh publishes a snapshot of all three as of a new cutoff. It only
// makes queries faster — TalkTime, Sources and the queue's line sources
// are exact with or without it, and with any number of refreshers running
// at once (on several replicas), crashed or stopped.
type Rollup struct {
	conn driver.Conn
	opts RollupOptions
	zone string
	log  *slog.Logger
}

// NewRollup returns a refresher over a migrated ClickHouse database.
func NewRollup(conn driver.Conn, opts RollupOptions) *Rollup {
	if opts.Interval <= 0 {
		opts.Interval = DefaultRollupInterval
	}
	if opts.Margin <= 0 {
		opts.Margin = DefaultRollupMargin
	}
	if opts.MaxChain <= 0 {
		opts.MaxChain = DefaultRollupMaxChain
	}
	if opts.RebuildEvery == 0 {
		opts.RebuildEvery = DefaultRollupRebuild
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	zone := ""
	if opts.Zone != nil && opts.Zone != time.Local {
		zone = opts.Zone.String()
	}
	return &Rollup{conn: conn, opts: opts, zone: zone, log: log}
}

// Run refreshes every Interval until ctx is done. Failures are logged and
// retried at the next tick. It returns nil when ctx is done.
func (r *Rollup) Run(ctx context.Context) error {
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	waiting := false // for replicas: said once, not at every tick
	for {
		_, err := r.Refresh(ctx)
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, ErrReplicasInactive):
			if !waiting {
				r.log.Warn("analytics rollups not refreshed until every replica is active", "err", err)
			}
			waiting = true
		case quorumBusy(err):
			r.log.Info("analytics rollup refresh gave way to another refresher's write on the cluster; the next tick refreshes")
		case err != nil:
			r.log.Warn("analytics rollup refresh failed", "err", err)
		case waiting:
			r.log.Info("analytics rollups refreshed again: every replica is active")
			waiting = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RefreshKind says what a refresh did.
type RefreshKind string

// Refresh kinds.
const (
	RefreshNone    RefreshKind = "none"    // nothing arrived since the newest snapshot
	RefreshDelta   RefreshKind = "delta"   // added the changes since the newest snapshot
	RefreshCompact RefreshKind = "compact" // rewrote the newest snapshot and the changes as a new root
	RefreshRebuild RefreshKind = "rebuild" // built a new root and generation of facts from calls_agg
)

// Refresh publishes a snapshot as of ClickHouse's now() minus Margin: a
// root and a new generation of call facts built from calls_agg if there
// is no snapshot with facts yet or the last rebuild is older than
// RebuildEvery; else the changes since the newest snapshot, compacted
// with its chain into a new root once the chain is MaxChain long or keeps
// the days of another zone. Then it drops what no snapshot needs any more.
func (r *Rollup) Refresh(ctx context.Context) (RefreshKind, error) {
	settings, err := r.writeSettings(ctx)
	if err != nil {
		return RefreshNone, err
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(settings))
	markers, err := loadRefreshes(ctx, r.conn)
	if err != nil {
		return RefreshNone, err
	}
	now, err := serverNow(ctx, r.conn)
	if err != nil {
		return RefreshNone, err
	}
	cutoff := now.Add(-r.opts.Margin).Truncate(time.Second).UTC()
	head, chain, ok := factsHead(markers)
	if ok && !cutoff.After(head.cutoff) {
		return RefreshNone, nil
	}
	m := refreshMarker{id: newRefreshID(), cutoff: cutoff, zone: r.zone}
	var kind RefreshKind
	if !ok || (r.opts.RebuildEvery > 0 && cutoff.Sub(head.rebuilt) >= r.opts.RebuildEvery) {
		kind, m.epoch, m.rebuilt, m.generation = RefreshRebuild, m.id, cutoff, m.id
		if err := r.rebuild(ctx, m, settings); err != nil {
			return RefreshNone, err
		}
	} else {
		dctx, cancel := context.WithTimeout(ctx, deltaTimeout)
		defer cancel()
		m.rebuilt, m.generation = head.rebuilt, head.generation
		sums, changed, err := r.changes(dctx, m.generation, head.cutoff, cutoff)
		if err != nil {
			return RefreshNone, err
		}
		switch {
		case len(chain) >= r.opts.MaxChain || head.zone != r.zone:
			kind, m.epoch = RefreshCompact, m.id
			if err := r.conn.Exec(dctx, fmt.Sprintf(rootCompactSQL, r.grains()), clickhouse.Named("id", m.id),
				clickhouse.Named("epoch", head.epoch), clickhouse.Named("chain", chain.ids()),
				clickhouse.Named("zone", r.zone)); err != nil {
				return RefreshNone, fmt.Errorf("compact talk-time rollup: %w", err)
			}
		case len(changed) == 0 && len(sums) == 0:
			return RefreshNone, nil
		default:
			kind, m.epoch, m.base = RefreshDelta, head.epoch, head.id
		}
		if err := refreshFacts(dctx, r.conn, m.generation, cutoff, changed); err != nil {
			return RefreshNone, err
		}
		if err := r.insertRows(dctx, m, sums); err != nil {
			return RefreshNone, err
		}
	}
	if err := r.conn.Exec(ctx, "INSERT INTO fact_refreshes (generation, id, layout) SELECT @generation, @id, @layout",
		clickhouse.Named("generation", m.generation), clickhouse.Named("id", m.id),
		clickhouse.Named("layout", factsLayout)); err != nil {
		return RefreshNone, fmt.Errorf("record the facts of refresh: %w", err)
	}
	onChain := []uint64{m.id} // the snapshot's refreshes, for SQL-only readers (migration 0013)
	if kind == RefreshDelta {
		onChain = append(onChain, chain.idList()...)
	}
	if err := r.conn.Exec(ctx, `INSERT INTO talk_refreshes (epoch, id, base, cutoff, zone, rebuilt, done_at, chain)
		SELECT @epoch, @id, @base, @cutoff, @zone, @rebuilt, now(), CAST(@chain AS Array(UInt64))`,
		clickhouse.Named("epoch", m.epoch), clickhouse.Named("id", m.id), clickhouse.Named("base", m.base),
		clickhouse.Named("cutoff", m.cutoff), clickhouse.Named("zone", m.zone), clickhouse.Named("rebuilt", m.rebuilt),
		clickhouse.Named("chain", onChain)); err != nil {
		return RefreshNone, fmt.Errorf("record talk-time refresh: %w", err)
	}
	if kind != RefreshDelta {
		r.log.Info("analytics rollup root written", "kind", kind, "cutoff", cutoff, "epoch", m.epoch, "generation", m.generation)
	}
	return kind, r.dropStale(ctx)
}

// grains is the rows a quarter hour goes to: itself, and its day in the
// refresher's zone if it has one.
func (r *Rollup) grains() string {
	if r.zone == "" {
		return quarterHoursOnlySQL
	}
	return grainsSQL
}

// dayZone is the zone of the days of the changes: the refresher's, or UTC
// (unused) when it keeps quarter hours only.
func (r *Rollup) dayZone() string {
	if r.zone == "" {
		return "UTC"
	}
	return r.zone
}

// ErrReplicasInactive is what Refresh returns on replicated tables while a
// replica of a table is not active (down, or not replicating): nothing is
// refreshed until every replica is back, so that no replica ever shows a
// refresh without its rows. Queries stay exact meanwhile; they fold what
// arrived since the last snapshot themselves, which takes longer the
// longer the outage.
var ErrReplicasInactive = errors.New("not every replica is active")

// quorumBusy reports whether err is ClickHouse refusing a quorum insert
// because another one into the same table has not reached its quorum yet
// (code 286, UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE; 18.16 takes one at a
// time): two refreshers on a cluster wrote at once. The refresh that got
// it has no marker, so what it wrote is never read.
func quorumBusy(err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == codeUnsatisfiedQuorumForPreviousWrite
}

// codeUnsatisfiedQuorumForPreviousWrite is ClickHouse's error code for a
// quorum insert refused while the previous one is short of its quorum.
const codeUnsatisfiedQuorumForPreviousWrite = 286

// writeSettings are the settings of a refresh's statements. On replicated
// tables (clickhouse.cluster; system.replicas lists none on one server) a
// refresh runs only while every replica is active, and each of its inserts
// returns only once every replica holds its rows (insert_quorum), so that
// whichever replica a later statement reads — ClickHouse may pick one per
// query — has them: the rebuild reads back the call facts it wrote, and a
// replica that shows a refresh's marker, even one that was down and is
// catching up, holds the rows the marker stands for. Else
// ErrReplicasInactive. (A replica that dies during an insert fails the
// refresh after quorumTimeout; the next one waits for it.)
func (r *Rollup) writeSettings(ctx context.Context) (clickhouse.Settings, error) {
	settings := clickhouse.Settings{}
	var active, total uint64
	if err := r.conn.QueryRow(ctx, `SELECT toUInt64(min(active_replicas)), toUInt64(max(total_replicas))
		FROM system.replicas WHERE database = currentDatabase()`).Scan(&active, &total); err != nil {
		return nil, fmt.Errorf("count active replicas: %w", err)
	}
	if active < total {
		return nil, fmt.Errorf("refresh the rollups: %w (%d of %d)", ErrReplicasInactive, active, total)
	}
	if total > 1 {
		settings["insert_quorum"] = int(total)
		settings["insert_quorum_timeout"] = int(quorumTimeout / time.Millisecond)
	}
	return settings, nil
}

// rebuild writes a root as of m.cutoff, and generation m.generation of the
// call facts and the phone rollup, from calls_agg: first every call's
// facts, then both rollups from them. Folding every call may exceed the
// memory limit, so its GROUP BY may spill to disk. settings are the
// refresh's (writeSettings).
func (r *Rollup) rebuild(ctx context.Context, m refreshMarker, settings clickhouse.Settings) error {
	ctx, cancel := context.WithTimeout(ctx, rebuildTimeout)
	defer cancel()
	settings = maps.Clone(settings)
	settings["max_bytes_before_external_group_by"] = 1 << 30
	settings["max_execution_time"] = int(rebuildTimeout / time.Second)
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(settings))
	args := []any{clickhouse.Named("id", m.id), clickhouse.Named("gen", m.generation),
		clickhouse.Named("cutoff", m.cutoff), clickhouse.Named("zone", r.zone)}
	for _, step := range []struct{ what, q string }{
		{"call facts", callFactsRebuildSQL},
		{"calls by time", callsByTimeRebuildSQL},
		{"talk-time rollup", fmt.Sprintf(talkRootFromFactsSQL, "AND at < @cutoff", r.grains())},
		{"phone rollup", phoneRootSQL},
	} {
		if err := r.conn.Exec(ctx, step.q, args...); err != nil {
			return fmt.Errorf("rebuild %s as of %s: %w", step.what, m.cutoff.Format(time.DateTime), err)
		}
	}
	return nil
}

// changes sums the talk-time changes between two cutoffs per quarter hour
// (and day of the zone), manager, category and status, and returns the
// calls with events in between.
func (r *Rollup) changes(ctx context.Context, gen uint64, from, to time.Time) (talkSums, []changedCall, error) {
	deltas, changed, err := talkChanges(ctx, r.conn, gen, from, to, r.dayZone())
	if err != nil {
		return nil, nil, err
	}
	sums := talkSums{}
	for _, d := range deltas {
		sums.add("", d.bucket, d.manager, d.category, d.status, d.seconds, d.calls)
		if r.zone != "" {
			sums.add(r.zone, d.day, d.manager, d.category, d.status, d.seconds, d.calls)
		}
	}
	return sums, changed, nil
}

// insertRows writes the non-zero sums as rows of refresh m.
func (r *Rollup) insertRows(ctx context.Context, m refreshMarker, sums talkSums) error {
	batch, err := r.conn.PrepareBatch(ctx,
		"INSERT INTO talk_rollup (epoch, refresh, zone, bucket, manager, category, status, seconds, calls)")
	if err != nil {
		return fmt.Errorf("prepare talk_rollup batch: %w", err)
	}
	defer batch.Abort()
	n := 0
	for k, s := range sums {
		if s.seconds == 0 && s.calls == 0 {
			continue
		}
		if err := batch.Append(m.epoch, m.id, k.zone, time.Unix(k.at, 0).UTC(), k.manager, string(k.category),
			k.status.String(), s.seconds, s.calls); err != nil {
			return fmt.Errorf("append talk_rollup row: %w", err)
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d talk_rollup rows: %w", n, err)
	}
	return nil
}

func serverNow(ctx context.Context, conn driver.Conn) (time.Time, error) {
	var now time.Time
	if err := conn.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		return time.Time{}, fmt.Errorf("read clickhouse clock: %w", err)
	}
	return now.UTC(), nil
}

// newRefreshID is milliseconds since the epoch << 16 | 16 random bits:
// unique across refreshers, and it tells when a rebuild started.
func newRefreshID() uint64 {
	return uint64(time.Now().UnixMilli())<<16 | rand.Uint64N(1<<16)
}
