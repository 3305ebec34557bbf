package main

import (
	"context"
	"flag"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/scoring"
	"github.com/callpulse/callpulse/warehouse"
)

// The analytics benchmark: a store of -queries-calls calls over 90 days is
// generated inside ClickHouse through the production tables and
// materialized views, the talk-time rollup is built, the traffic a query
// finds beyond its snapshot arrives (new calls, calls ending, late events
// of old calls; then a re-graded client), and the talk-time, sources and
// queue queries run over the last 30 days, talk time next to the
// straightforward query over the calls view, whose result it must equal.
// See docs/performance.md, "Analytics at 10M calls".
var queriesOpts struct {
	enabled     bool
	calls       int
	runs        int
	slowBudget  time.Duration
	keep        bool
	zone        string
	rawMemLimit int64
}

func init() {
	flag.BoolVar(&queriesOpts.enabled, "queries", true, "run the analytics queries benchmark")
	flag.IntVar(&queriesOpts.calls, "queries-calls", 10_000_000, "calls to generate for the analytics queries benchmark")
	flag.IntVar(&queriesOpts.runs, "queries-runs", 10, "timed runs of each analytics query")
	flag.DurationVar(&queriesOpts.slowBudget, "queries-slow-budget", 20*time.Second,
		"stop timing a query after its runs took this long (at least one run): the raw scans take a minute each")
	flag.BoolVar(&queriesOpts.keep, "queries-keep", false, "keep the generated database (callpulse_bench_queries)")
	flag.StringVar(&queriesOpts.zone, "queries-zone", "Europe/Moscow", "time zone of the analytics queries")
	flag.Int64Var(&queriesOpts.rawMemLimit, "queries-raw-memory", 10_000_000_000,
		"max_memory_usage of the raw talk-time query (ClickHouse's default; it needs more than 4 GB at 10M calls)")
}

// Targets of the analytics queries (issue: "All queries stay fast at scale").
const (
	targetTalkTime = 150 * time.Millisecond
	targetSources  = 500 * time.Millisecond
)

const queriesDB = "callpulse_bench_queries"

// benchQueries runs the analytics benchmark against the ClickHouse server
// at chAddr and reports each target through check. It is the hook for
// run(): it does nothing when -queries=false.
func benchQueries(ctx context.Context, chAddr string, check func(name string, ok bool, got string)) error {
	if !queriesOpts.enabled {
		return nil
	}
	o := queriesOpts
	loc, err := time.LoadLocation(o.zone)
	if err != nil {
		return fmt.Errorf("queries bench: %w", err)
	}
	fmt.Printf("\n== Analytics at %d calls: talk time, sources, queue over 30 days ==\n", o.calls)
	if err := dropDatabases(ctx, chAddr, queriesDB); err != nil {
		return err
	}
	if !o.keep {
		defer func() { _ = dropDatabases(context.WithoutCancel(ctx), chAddr, queriesDB) }()
	}
	db, err := warehouse.Open(fmt.Sprintf("clickhouse://%s/%s", chAddr, queriesDB), warehouse.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", queriesDB, err)
	}
	conn := db.Conn()
	var now time.Time
	if err := conn.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		return err
	}
	t0 := now.Add(-genDays * 24 * time.Hour).Unix()

	start := time.Now()
	if err := generate(ctx, conn, o.calls, t0); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	var events, grades uint64
	_ = conn.QueryRow(ctx, "SELECT count() FROM call_events").Scan(&events)
	_ = conn.QueryRow(ctx, "SELECT count() FROM client_categories").Scan(&grades)
	fmt.Printf("generated in %s: %d calls (%d events, 60%% one event, 40%% three) over %d days, %d managers, %d clients with %d grade rows, %d deals, %d touches\n",
		time.Since(start).Round(time.Second), o.calls, events, genDays, genManagers, genClients, grades, genDeals, genTouches)

	rollup := analytics.NewTalkRollup(conn, analytics.RollupOptions{Zone: loc, Margin: time.Second})
	start = time.Now()
	if kind, err := rollup.Refresh(ctx); err != nil || kind != analytics.RefreshRebuild {
		return fmt.Errorf("build the talk-time rollup: %v %w", kind, err)
	}
	fmt.Printf("talk-time rollup built from calls_agg (a full fold, once; then deltas): %s\n", time.Since(start).Round(100*time.Millisecond))

	if err := execAll(ctx, conn, liveTraffic(o.calls, now)); err != nil {
		return fmt.Errorf("live traffic: %w", err)
	}
	fmt.Printf("then, not in the snapshot yet: %s\n", liveTrafficText)

	store := analytics.NewStore(conn, loc)
	today := analytics.Day(now, loc)
	p := analytics.Period{From: today.From.AddDate(0, 0, -29), To: today.To}
	scorer, err := scoring.New(conn, scoring.DefaultOptions())
	if err != nil {
		return err
	}
	rawCtx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_memory_usage": int(o.rawMemLimit)}))

	fmt.Printf("%-52s %5s %10s %10s   %s\n", "query (30 days, "+o.zone+")", "runs", "median", "p90", "target")
	var newRows, rawRows []analytics.TalkRow
	talk := func() (err error) { newRows, err = store.TalkTime(ctx, p, nil); return err }
	tt, err := timeRuns(o.runs, 0, talk)
	if err != nil {
		return err
	}
	printTiming("talk time: snapshot + the traffic since (above)", tt, targetTalkTime)
	raw, err := timeRuns(o.runs, o.slowBudget, func() (err error) { rawRows, err = store.TalkTimeRaw(rawCtx, p, nil); return err })
	if err != nil {
		return err
	}
	printTiming("talk time: raw scan of the calls view (baseline)", raw, 0)
	same := reflect.DeepEqual(newRows, rawRows)

	if err := execAll(ctx, conn, []string{regradeSQL(now)}); err != nil {
		return fmt.Errorf("re-grade: %w", err)
	}
	regraded, err := timeRuns(o.runs, 0, talk)
	if err != nil {
		return err
	}
	printTiming("talk time: the same plus a client re-graded", regraded, targetTalkTime)
	start = time.Now()
	kind, err := rollup.Refresh(ctx)
	if err != nil {
		return err
	}
	refreshTook := time.Since(start)
	quiet, err := timeRuns(o.runs, 0, talk)
	if err != nil {
		return err
	}
	printTiming("talk time: right after a refresh", quiet, targetTalkTime)
	src, err := timeRuns(o.runs, o.slowBudget, func() error { _, err := store.Sources(rawCtx, p); return err })
	if err != nil {
		return err
	}
	printTiming("sources funnel (unchanged, calls view)", src, targetSources)
	q, err := timeRuns(o.runs, o.slowBudget, func() error { _, err := scorer.Queue(rawCtx, 100, false); return err })
	if err != nil {
		return err
	}
	printTiming("call queue, top 100 (unchanged, calls view)", q, 0)

	fmt.Printf("talk time of the pre-aggregated path and the raw scan identical: %v (%d rows: day × manager × category)\n", same, len(rawRows))
	fmt.Printf("the refresh that took the traffic and the re-grade into the snapshot (%s): %s\n", kind, refreshTook.Round(time.Millisecond))

	check(fmt.Sprintf("talk time <= %s (median, 30 days, %d calls, steady state)", targetTalkTime, o.calls),
		median(tt) <= targetTalkTime && same,
		fmt.Sprintf("%s (p90 %s; with a re-grade %s), raw scan %s, identical %v",
			ms(median(tt)), ms(p90(tt)), ms(median(regraded)), median(raw).Round(time.Millisecond), same))
	check(fmt.Sprintf("sources <= %s (median, 30 days, %d calls)", targetSources, o.calls), median(src) <= targetSources,
		fmt.Sprintf("%s over %d runs", median(src).Round(time.Millisecond), len(src)))
	return nil
}

func execAll(ctx context.Context, conn driver.Conn, stmts []string) error {
	for _, q := range stmts {
		if err := conn.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// timeRuns runs f up to n times, stopping early once budget (if positive)
// is spent, and returns the durations.
func timeRuns(n int, budget time.Duration, f func() error) ([]time.Duration, error) {
	var out []time.Duration
	var spent time.Duration
	for range n {
		start := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		d := time.Since(start)
		out = append(out, d)
		if spent += d; budget > 0 && spent >= budget {
			break
		}
	}
	return out, nil
}

func median(ds []time.Duration) time.Duration { return quantile(ds, 0.5) }
func p90(ds []time.Duration) time.Duration    { return quantile(ds, 0.9) }

// quantile is the nearest-rank quantile.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*q+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func printTiming(name string, ds []time.Duration, target time.Duration) {
	verdict := ""
	if target > 0 {
		verdict = fmt.Sprintf("<= %s  PASS", target)
		if median(ds) > target {
			verdict = fmt.Sprintf("<= %s  MISSED", target)
		}
	}
	fmt.Printf("%-52s %5d %10s %10s   %s\n", name, len(ds), fmtDur(median(ds)), fmtDur(p90(ds)), verdict)
}

func fmtDur(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return ms(d)
}
