package analytics

import (
	"context"
	"fmt"
	"log/slog"
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
	// first. A rebuild costs a full fold of calls_agg (a minute at 10M
	// calls on 2 cores), and re-derives everything from the events.
	RebuildEvery time.Duration
	// Logger receives a line per root and every failure.
	Logger *slog.Logger
}

// TalkRollup keeps the talk-time rollup (talk_rollup) current: each
// Refresh publishes a snapshot as of a new cutoff. It only makes TalkTime
// faster — TalkTime is exact with or without it, and with any number of
// refreshers running at once (on several replicas), crashed or stopped.
type TalkRollup struct {
	conn driver.Conn
	opts RollupOptions
	zone string
	log  *slog.Logger
}

// NewTalkRollup returns a refresher over a migrated ClickHouse database.
func NewTalkRollup(conn driver.Conn, opts RollupOptions) *TalkRollup {
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
	return &TalkRollup{conn: conn, opts: opts, zone: zone, log: log}
}

// Run refreshes every Interval until ctx is done. Failures are logged and
// retried at the next tick. It returns nil when ctx is done.
func (r *TalkRollup) Run(ctx context.Context) error {
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	for {
		if _, err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("talk-time rollup refresh failed", "err", err)
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
	RefreshRebuild RefreshKind = "rebuild" // built a new root from calls_agg
)

// Refresh publishes a snapshot as of ClickHouse's now() minus Margin: a
// root built from calls_agg if there is no snapshot yet or the last
// rebuild is older than RebuildEvery; else the changes since the newest
// snapshot, compacted with its chain into a new root once the chain is
// MaxChain long or keeps the days of another zone. Then it drops what no
// snapshot needs any more.
func (r *TalkRollup) Refresh(ctx context.Context) (RefreshKind, error) {
	markers, err := loadRefreshes(ctx, r.conn)
	if err != nil {
		return RefreshNone, err
	}
	now, err := serverNow(ctx, r.conn)
	if err != nil {
		return RefreshNone, err
	}
	cutoff := now.Add(-r.opts.Margin).Truncate(time.Second).UTC()
	head, chain, ok := pickHead(markers)
	if ok && !cutoff.After(head.cutoff) {
		return RefreshNone, nil
	}
	m := refreshMarker{id: newRefreshID(), cutoff: cutoff, zone: r.zone}
	var kind RefreshKind
	if !ok || (r.opts.RebuildEvery > 0 && cutoff.Sub(head.rebuilt) >= r.opts.RebuildEvery) {
		kind, m.epoch, m.rebuilt = RefreshRebuild, m.id, cutoff
		if err := r.rebuild(ctx, m); err != nil {
			return RefreshNone, err
		}
	} else {
		dctx, cancel := context.WithTimeout(ctx, deltaTimeout)
		defer cancel()
		sums, touched, err := r.changes(dctx, head.cutoff, cutoff)
		if err != nil {
			return RefreshNone, err
		}
		m.rebuilt = head.rebuilt
		switch {
		case len(chain) >= r.opts.MaxChain || head.zone != r.zone:
			kind, m.epoch = RefreshCompact, m.id
			if err := r.conn.Exec(dctx, fmt.Sprintf(rootCompactSQL, r.grains()), clickhouse.Named("id", m.id),
				clickhouse.Named("epoch", head.epoch), clickhouse.Named("chain", chain.ids()),
				clickhouse.Named("zone", r.zone)); err != nil {
				return RefreshNone, fmt.Errorf("compact talk-time rollup: %w", err)
			}
		case !touched:
			return RefreshNone, nil
		default:
			kind, m.epoch, m.base = RefreshDelta, head.epoch, head.id
		}
		if err := r.insertRows(dctx, m, sums); err != nil {
			return RefreshNone, err
		}
	}
	if err := r.conn.Exec(ctx, `INSERT INTO talk_refreshes (epoch, id, base, cutoff, zone, rebuilt, done_at)
		SELECT @epoch, @id, @base, @cutoff, @zone, @rebuilt, now()`,
		clickhouse.Named("epoch", m.epoch), clickhouse.Named("id", m.id), clickhouse.Named("base", m.base),
		clickhouse.Named("cutoff", m.cutoff), clickhouse.Named("zone", m.zone), clickhouse.Named("rebuilt", m.rebuilt)); err != nil {
		return RefreshNone, fmt.Errorf("record talk-time refresh: %w", err)
	}
	if kind != RefreshDelta {
		r.log.Info("talk-time rollup root written", "kind", kind, "cutoff", cutoff, "epoch", m.epoch)
	}
	return kind, r.dropStale(ctx)
}

// grains is the rows a quarter hour goes to: itself, and its day in the
// refresher's zone if it has one.
func (r *TalkRollup) grains() string {
	if r.zone == "" {
		return quarterHoursOnlySQL
	}
	return grainsSQL
}

// rebuild writes a root as of m.cutoff from calls_agg. Folding every call
// may exceed the memory limit, so its GROUP BY may spill to disk.
func (r *TalkRollup) rebuild(ctx context.Context, m refreshMarker) error {
	ctx, cancel := context.WithTimeout(ctx, rebuildTimeout)
	defer cancel()
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_bytes_before_external_group_by": 1 << 30,
		"max_execution_time":                 int(rebuildTimeout / time.Second),
	}))
	q := fmt.Sprintf(rootRebuildSQL, "AND at < @cutoff", "", "AND at < @cutoff", r.grains())
	if err := r.conn.Exec(ctx, q, clickhouse.Named("id", m.id), clickhouse.Named("cutoff", m.cutoff),
		clickhouse.Named("zone", r.zone)); err != nil {
		return fmt.Errorf("rebuild talk-time rollup as of %s: %w", m.cutoff.Format(time.DateTime), err)
	}
	return nil
}

// changes sums the talk-time changes between two cutoffs per quarter hour
// (and day of the zone), manager and category; touched reports whether
// any call was touched at all (a refresh with no net change still moves
// the cutoff, so that queries fold fewer calls themselves).
func (r *TalkRollup) changes(ctx context.Context, from, to time.Time) (talkSums, bool, error) {
	tz := r.zone
	if tz == "" {
		tz = "UTC"
	}
	deltas, err := talkChanges(ctx, r.conn, from, to, tz)
	if err != nil {
		return nil, false, err
	}
	sums := talkSums{}
	for _, d := range deltas {
		sums.add("", d.bucket, d.manager, d.category, d.seconds, d.calls)
		if r.zone != "" {
			sums.add(r.zone, d.day, d.manager, d.category, d.seconds, d.calls)
		}
	}
	if len(deltas) > 0 {
		return sums, true, nil
	}
	var n uint64
	err = r.conn.QueryRow(ctx, `SELECT toUInt64(count()) FROM (`+fmt.Sprintf(touchedSQL, "AND at < @to")+`)`,
		clickhouse.Named("from", from), clickhouse.Named("to", to)).Scan(&n)
	if err != nil {
		return nil, false, fmt.Errorf("count calls touched since %s: %w", from.Format(time.DateTime), err)
	}
	return sums, n > 0, nil
}

// insertRows writes the non-zero sums as rows of refresh m.
func (r *TalkRollup) insertRows(ctx context.Context, m refreshMarker, sums talkSums) error {
	batch, err := r.conn.PrepareBatch(ctx,
		"INSERT INTO talk_rollup (epoch, refresh, zone, bucket, manager, category, seconds, calls)")
	if err != nil {
		return fmt.Errorf("prepare talk_rollup batch: %w", err)
	}
	defer batch.Abort()
	n := 0
	for k, s := range sums {
		if s.seconds == 0 && s.calls == 0 {
			continue
		}
		if err := batch.Append(m.epoch, m.id, k.zone, time.Unix(k.at, 0).UTC(), k.manager, string(k.category), s.seconds, s.calls); err != nil {
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
