package faults

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callpulse/callpulse/crmsync/amocrm/amocrmtest"
)

// provider is the PBX provider of all fault traffic (the generic webhook).
const provider = "generic"

// rawEventRows counts the rows of call_events before de-duplication.
func rawEventRows(ctx context.Context, ch *ClickHouse, db string) (uint64, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{ch.Addr()}, Auth: clickhouse.Auth{Database: db},
		DialTimeout: 2 * time.Second})
	if err != nil {
		return 0, fmt.Errorf("open clickhouse: %w", err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(ctx, `SELECT count() FROM call_events WHERE provider = ?`, provider).Scan(&n); err != nil {
		return 0, fmt.Errorf("count call_events: %w", err)
	}
	return n, nil
}

// observe reads what the run left in the warehouse (database db on ch)
// and in the CRM emulator.
func observe(ctx context.Context, ch *ClickHouse, db string, crm *amocrmtest.Server) (Observed, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{ch.Addr()}, Auth: clickhouse.Auth{Database: db},
		DialTimeout: 2 * time.Second})
	if err != nil {
		return Observed{}, fmt.Errorf("open clickhouse: %w", err)
	}
	defer conn.Close()
	var obs Observed
	rows, err := conn.Query(ctx, `SELECT call_id, splitByChar('/', event_key)[1] FROM call_events FINAL WHERE provider = ?`, provider)
	if err != nil {
		return Observed{}, fmt.Errorf("read call_events FINAL: %w", err)
	}
	for rows.Next() {
		var r EventRow
		if err := rows.Scan(&r.CallID, &r.Key); err != nil {
			rows.Close()
			return Observed{}, fmt.Errorf("read call_events FINAL: %w", err)
		}
		obs.Events = append(obs.Events, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Observed{}, fmt.Errorf("read call_events FINAL: %w", err)
	}

	rows, err = conn.Query(ctx, `SELECT call_id, toString(direction), status, toUInt32(started_at),
		toUInt32(answered_at), toUInt32(ended_at), talk_seconds FROM calls WHERE provider = ?`, provider)
	if err != nil {
		return Observed{}, fmt.Errorf("read calls: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f Folded
		var started, answered, ended uint32
		if err := rows.Scan(&f.CallID, &f.Direction, &f.Status, &started, &answered, &ended, &f.TalkSeconds); err != nil {
			return Observed{}, fmt.Errorf("read calls: %w", err)
		}
		f.StartedAt, f.AnsweredAt, f.EndedAt = int64(started), int64(answered), int64(ended)
		obs.Calls = append(obs.Calls, f)
	}
	if err := rows.Err(); err != nil {
		return Observed{}, fmt.Errorf("read calls: %w", err)
	}

	for _, c := range crm.Calls() {
		obs.CRMCalls = append(obs.CRMCalls, strings.TrimPrefix(c.Key, provider+":"))
	}
	obs.Leads = map[string]int{}
	for _, l := range crm.Leads() {
		for _, id := range l.ContactIDs {
			if c, ok := crm.Contact(id); ok {
				for _, p := range c.Phones {
					obs.Leads[p]++
				}
			}
		}
	}
	return obs, nil
}
