package warehouse

import (
	"context"
	"fmt"
	"time"
)

// Recording is the stored audio file of one call. The file itself lives in
// the recording fetcher's directory, addressed by SHA256.
type Recording struct {
	Provider    string
	CallID      string
	SHA256      string // lower-case hex of the file's SHA-256
	Bytes       uint64
	ContentType string // media type without parameters, e.g. "audio/mpeg"
	FetchedAt   time.Time
}

// InsertRecording records that r.CallID's recording is the file r.SHA256.
// Inserting a row for a call that already has one replaces it: lookups
// return the newest by FetchedAt (stored to the second). Repeating an insert
// is harmless.
func (db *DB) InsertRecording(ctx context.Context, r Recording) error {
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	batch, err := db.conn.PrepareBatch(ctx,
		"INSERT INTO recordings (provider, call_id, sha256, bytes, content_type, fetched_at)")
	if err != nil {
		return fmt.Errorf("prepare recordings insert: %w", err)
	}
	defer batch.Abort()
	if err := batch.Append(r.Provider, r.CallID, r.SHA256, r.Bytes, r.ContentType,
		r.FetchedAt.UTC().Truncate(time.Second)); err != nil {
		return fmt.Errorf("append recording row: %w", err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert recording: %w", err)
	}
	return nil
}

// Recording returns the newest stored recording of a call, and false if the
// call has none. It reads without FINAL, so it sees a replacement at once,
// before ClickHouse merges the old row away.
func (db *DB) Recording(ctx context.Context, provider, callID string) (Recording, bool, error) {
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	rows, err := db.conn.Query(ctx, `SELECT sha256, bytes, content_type, fetched_at FROM recordings
		WHERE provider = ? AND call_id = ? ORDER BY fetched_at DESC, sha256 DESC LIMIT 1`, provider, callID)
	if err != nil {
		return Recording{}, false, fmt.Errorf("query recording: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Recording{}, false, fmt.Errorf("query recording: %w", err)
		}
		return Recording{}, false, nil
	}
	r := Recording{Provider: provider, CallID: callID}
	if err := rows.Scan(&r.SHA256, &r.Bytes, &r.ContentType, &r.FetchedAt); err != nil {
		return Recording{}, false, fmt.Errorf("scan recording: %w", err)
	}
	r.FetchedAt = r.FetchedAt.UTC()
	return r, true, nil
}

// CallKey names one call.
type CallKey struct{ Provider, CallID string }

// RecordedCalls reports which of the calls already have a stored recording,
// in one query (the recordings consumer asks this for every batch).
func (db *DB) RecordedCalls(ctx context.Context, keys []CallKey) (map[CallKey]bool, error) {
	out := make(map[CallKey]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		ids = append(ids, k.CallID)
	}
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	rows, err := db.conn.Query(ctx, `SELECT DISTINCT provider, call_id FROM recordings WHERE has(?, call_id)`, ids)
	if err != nil {
		return nil, fmt.Errorf("query recorded calls: %w", err)
	}
	defer rows.Close()
	want := make(map[CallKey]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	for rows.Next() {
		var k CallKey
		if err := rows.Scan(&k.Provider, &k.CallID); err != nil {
			return nil, fmt.Errorf("scan recorded call: %w", err)
		}
		if want[k] {
			out[k] = true
		}
	}
	return out, rows.Err()
}
