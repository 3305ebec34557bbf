package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// writerResult compares warehouse.EventWriter with a raw clickhouse-go
// insert of the same rows into the same table shape.
type writerResult struct {
	rows           int
	writer, raw    time.Duration // summed over the timed batches
	decode         time.Duration // call.Unmarshal of the timed records alone
	writerDB, rawD string
}

// The raw insert: the writer's statement and columns, values already decoded.
const rawInsert = `INSERT INTO call_events (provider, call_id, event_key, received_at, direction,
	started_at, answered_at, ended_at, client_phone, line_phone, line_source, manager, manager_rank,
	status, talk_seconds, recording_url, recording_ref, spool_seq)`

// benchWriter inserts rows events in batches through EventWriter.Write (as
// spool records, the way the daemon's consumer hands them over) into one
// fresh database and through PrepareBatch/Append/Send into another, both
// migrated by db.Migrate. Batches alternate between the two so background
// merges and other noise hit both alike. One untimed batch each warms up.
// With profile set, it writes a CPU profile of the timed batches to that
// file, labelled side=writer and side=raw.
func benchWriter(ctx context.Context, chAddr string, rows, batch int, profile string) (*writerResult, error) {
	res := &writerResult{writerDB: "callpulse_bench_writer", rawD: "callpulse_bench_raw"}
	admin, err := clickhouse.Open(&clickhouse.Options{Addr: []string{chAddr}})
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	open := func(name string) (*warehouse.DB, error) {
		if err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			return nil, err
		}
		db, err := warehouse.Open(fmt.Sprintf("clickhouse://%s/%s", chAddr, name), warehouse.Options{})
		if err != nil {
			return nil, err
		}
		if _, err := db.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	}
	wdb, err := open(res.writerDB)
	if err != nil {
		return nil, err
	}
	defer wdb.Close()
	rdb, err := open(res.rawD)
	if err != nil {
		return nil, err
	}
	defer rdb.Close()
	// Same connection options as warehouse.Open (LZ4), but the driver alone.
	raw, err := clickhouse.Open(&clickhouse.Options{Addr: []string{chAddr},
		Auth: clickhouse.Auth{Database: res.rawD}, Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4}})
	if err != nil {
		return nil, err
	}
	defer raw.Close()

	writer := warehouse.NewEventWriter(wdb, nil, warehouse.NewMetrics(prometheus.NewRegistry()), nil)
	events, recs := makeEvents(rows+batch, time.Now().UTC().Truncate(time.Second))
	for i := 0; i < len(events); i += batch {
		end := min(i+batch, len(events))
		if i == batch && profile != "" {
			f, err := os.Create(profile)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return nil, err
			}
			defer pprof.StopCPUProfile()
		}
		var werr, rerr error
		t0 := time.Now()
		pprof.Do(ctx, pprof.Labels("side", "writer"), func(ctx context.Context) { werr = writer.Write(ctx, recs[i:end]) })
		t1 := time.Now()
		pprof.Do(ctx, pprof.Labels("side", "raw"), func(ctx context.Context) { rerr = rawBatch(ctx, raw, events[i:end], recs[i].Seq) })
		if err := errors.Join(werr, rerr); err != nil {
			return nil, err
		}
		if i > 0 { // the first batch of each is the warm-up
			res.writer += t1.Sub(t0)
			res.raw += time.Since(t1)
			res.rows += end - i
		}
	}
	t0 := time.Now()
	for _, r := range recs[batch:] {
		if _, err := call.Unmarshal(r.Data); err != nil {
			return nil, err
		}
	}
	res.decode = time.Since(t0)
	for _, name := range []string{res.writerDB, res.rawD} {
		var n uint64
		if err := admin.QueryRow(ctx, "SELECT count() FROM "+name+".call_events").Scan(&n); err != nil {
			return nil, err
		}
		if n != uint64(len(events)) {
			return nil, fmt.Errorf("%s.call_events has %d rows, want %d", name, n, len(events))
		}
	}
	return res, nil
}

func rawBatch(ctx context.Context, conn clickhouse.Conn, events []call.Event, seq uint64) error {
	b, err := conn.PrepareBatch(ctx, rawInsert)
	if err != nil {
		return err
	}
	defer b.Abort()
	for i, e := range events {
		if err := b.Append(e.Provider, e.CallID, e.EventKey, e.ReceivedAt, e.Direction.String(),
			e.StartedAt, e.AnsweredAt, e.EndedAt, e.ClientPhone, e.LinePhone, "", e.Manager, e.ManagerRank,
			e.Status.String(), e.TalkSeconds, e.RecordingURL, e.RecordingRef, seq+uint64(i)); err != nil {
			return err
		}
	}
	return b.Send()
}

// makeEvents builds n answered calls as the generic webhook produces them,
// and the same events encoded as the spool records the writer reads.
func makeEvents(n int, now time.Time) ([]call.Event, []spool.Record) {
	events := make([]call.Event, n)
	recs := make([]spool.Record, n)
	for i := range events {
		start := now.Add(-time.Duration(i%86400) * time.Second)
		e := call.Event{
			Provider: "generic", CallID: fmt.Sprintf("bench-%d", i), EventKey: fmt.Sprintf("%016x", i*2654435761),
			ReceivedAt: now, Direction: call.DirectionInbound,
			StartedAt: start, AnsweredAt: start.Add(7 * time.Second), EndedAt: start.Add(281 * time.Second),
			ClientPhone: fmt.Sprintf("+7916%07d", i%10_000_000), LinePhone: "+74951112233",
			Manager: fmt.Sprint(101 + i%20), ManagerRank: call.ManagerAnswered, Status: call.StatusAnswered,
			RecordingURL: fmt.Sprintf("https://pbx.example.com/rec/bench-%d.mp3", i),
		}
		data, err := e.Marshal()
		if err != nil {
			panic(err)
		}
		events[i], recs[i] = e, spool.Record{Seq: uint64(i + 1), Data: data}
	}
	return events, recs
}
