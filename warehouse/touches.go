package warehouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// Touch is one tracked action of a lead: a site visit, a pricing page view,
// an application... Package scoring validates touches and scores leads by
// them.
type Touch struct {
	// ID is the sender's id of the touch; empty when it gave none.
	ID string
	// Phone is the lead's E.164 number; empty when only LeadID is known.
	Phone string
	// LeadID is a lead or deal id from a CRM or a deals CSV; empty if none.
	LeadID string
	Action string
	// At is when the action happened; stored to the second.
	At time.Time
	// UTMSource is the ad source the touch came through; empty if unknown.
	UTMSource string
}

// Key is the touch's idempotency key: "id:" and the sender's ID when it
// gave one, else "h:" and a hash of the phone, lead id, action and time (to
// the second), so that re-sending the same touch, with or without an id,
// stores nothing new. Keys of the two kinds never collide.
func (t Touch) Key() string {
	if t.ID != "" {
		return "id:" + t.ID
	}
	h := sha256.New()
	for _, part := range []string{t.Phone, t.LeadID, t.Action, strconv.FormatInt(t.At.Unix(), 10)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "h:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// InsertTouches stores touches received at `received` in one INSERT,
// atomic in ClickHouse: when it returns nil every touch is stored, else
// none is. A touch whose Key is already stored becomes its newest version
// (within one call, a later element is newer than an earlier one), and
// readers count each key once, so repeating an insert is harmless.
// Versions are received's nanoseconds plus the element's index: a later
// call must pass a later time for its versions to win.
//
// Touches must be validated by the caller (package scoring). Errors never
// name phone numbers.
func (db *DB) InsertTouches(ctx context.Context, touches []Touch, received time.Time) error {
	if len(touches) == 0 {
		return nil
	}
	version := uint64(received.UnixNano())
	received = received.UTC().Truncate(time.Second)

	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	batch, err := db.conn.PrepareBatch(ctx, `INSERT INTO touches (touch_key, touch_id, phone, lead_id, action,
		at, utm_source, received_at, version)`)
	if err != nil {
		return fmt.Errorf("prepare touches insert: %w", err)
	}
	defer batch.Abort()
	for i, t := range touches {
		if err := batch.Append(t.Key(), t.ID, t.Phone, t.LeadID, t.Action, t.At.UTC().Truncate(time.Second),
			t.UTMSource, received, version+uint64(i)); err != nil {
			return fmt.Errorf("append touch %d: %w", i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d touches: %w", len(touches), err)
	}
	return nil
}
