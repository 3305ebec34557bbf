package warehouse

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/callpulse/callpulse/deal"
)

var originName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// UpsertDeals stores deals as the newest version of each (origin, deal id),
// replacing every field of an earlier version: a deal re-imported as lost
// is lost, whatever it was before. origin names the system the deals came
// from ("csv", "bitrix24", "amocrm"); deal ids are only unique within it.
// at is when the deals were learned (stored as updated_at, to the second);
// its nanoseconds order versions, so a later upsert must pass a later at.
//
// Every deal must pass deal.Deal.Validate and ids must be unique within the
// call; otherwise nothing is written. The deals are one INSERT, atomic in
// ClickHouse, and repeating an upsert is harmless. Deals missing from a
// later upsert are not deleted. Errors name deals by id, never by phone.
func (db *DB) UpsertDeals(ctx context.Context, deals []deal.Deal, origin string, at time.Time) error {
	if !originName.MatchString(origin) {
		return fmt.Errorf("upsert deals: origin %q: want lowercase letters, digits and _", origin)
	}
	if len(deals) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(deals))
	for _, d := range deals {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("upsert deals: deal %q: %w", d.ID, err)
		}
		if seen[d.ID] {
			return fmt.Errorf("upsert deals: deal %q appears twice", d.ID)
		}
		seen[d.ID] = true
	}
	version := uint64(at.UnixNano())
	at = at.UTC().Truncate(time.Second)

	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	batch, err := db.conn.PrepareBatch(ctx, `INSERT INTO deals (origin, deal_id, phone, stage, amount,
		loss_reason, source, manager, created_at, closed_at, updated_at, version)`)
	if err != nil {
		return fmt.Errorf("prepare deals batch: %w", err)
	}
	defer batch.Abort()
	for _, d := range deals {
		// The amount goes over as its exact decimal text ("45000.50"),
		// which the driver turns into the Decimal column's scaled integer.
		if err := batch.Append(origin, d.ID, d.Phone, string(d.Stage), d.Amount.String(),
			d.LossReason, d.Source, d.Manager, ts(d.CreatedAt), ts(d.ClosedAt), at, version); err != nil {
			return fmt.Errorf("append deal %q: %w", d.ID, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d deals: %w", len(deals), err)
	}
	return nil
}
