package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// settle brings everything back up, re-delivers what the daemon refused
// (if redeliver), waits until ClickHouse and the CRM have caught up and the
// daemon is idle, stops the daemon (SIGTERM) and reconciles.
func (e *Env) settle(ctx context.Context, redeliver bool) (Counts, error) {
	if !e.CH.Running() {
		if err := e.CH.Start(ctx); err != nil {
			return Counts{}, err
		}
	}
	if !e.Daemon.Running() {
		if err := e.Daemon.Start(ctx); err != nil {
			return Counts{}, err
		}
	}
	within := 30 * time.Second
	if redeliver {
		e.Progress("re-delivering unacknowledged webhooks")
		if err := e.redeliver(ctx, 2*time.Minute, 200); err != nil {
			return Counts{}, err
		}
		within = 4 * time.Minute
	}
	e.Progress("waiting for ClickHouse and the CRM to catch up")
	caughtUp := time.Now()
	var last string
	err := waitForEvery(ctx, within, 500*time.Millisecond, "ClickHouse and the CRM hold every call and the daemon is idle",
		func(ctx context.Context) (bool, error) {
			obs, err := observe(ctx, e.CH, e.db, e.CRM)
			if err != nil {
				if ctx.Err() == nil {
					last = err.Error()
				}
				return false, nil // the daemon may be creating the schema still
			}
			c := Reconcile(e.Ledger.Sent(), obs)
			if c.Lost > 0 || c.CRMLost > 0 {
				last = fmt.Sprintf("%d webhooks not in ClickHouse, %d calls not in the CRM", c.Lost, c.CRMLost)
				return false, nil
			}
			idle, why, err := e.Daemon.Idle(ctx)
			if err != nil || !idle {
				last = "daemon busy: " + why
				return false, nil
			}
			return true, nil
		})
	if err != nil {
		e.Note("did not catch up (%s): %v", last, err) // the reconciliation below says what is missing
	} else {
		e.Note("caught up %v after the load", time.Since(caughtUp).Round(100*time.Millisecond))
	}
	if err := e.Daemon.Stop(); err != nil {
		e.Check(false, "graceful stop: %v", err)
	}
	obs, err := observe(ctx, e.CH, e.db, e.CRM)
	if err != nil {
		return Counts{}, err
	}
	c := Reconcile(e.Ledger.Sent(), obs)
	if raw, err := rawEventRows(ctx, e.CH, e.db); err == nil {
		e.Note("call_events: %d rows, %d after FINAL (re-delivered and re-inserted rows not merged yet)", raw, len(obs.Events))
	}
	if c.OK() && len(e.failed) == 0 {
		e.dropDatabase(ctx)
	}
	return c, nil
}

func (e *Env) dropDatabase(ctx context.Context) {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{e.CH.Addr()}})
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+e.db)
}

// noteSpool notes the daemon's spool gauges, for a scenario that failed.
func (e *Env) noteSpool(ctx context.Context) {
	m, err := e.Daemon.Metrics(ctx)
	if err != nil {
		return
	}
	var gauges []string
	for series, v := range m {
		if strings.HasPrefix(series, "callpulse_spool_bytes") || strings.HasPrefix(series, "callpulse_spool_segments") ||
			strings.HasPrefix(series, "callpulse_spool_cursor_lag_records") {
			gauges = append(gauges, fmt.Sprintf("%s %v", series, v))
		}
	}
	slices.Sort(gauges)
	e.Note("daemon's spool at the failure: %s", strings.Join(gauges, ", "))
}
