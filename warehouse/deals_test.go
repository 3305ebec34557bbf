package warehouse

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/deal"
)

// storedDeals reads the newest version of every deal, the way analytics
// does.
func storedDeals(t *testing.T, db *DB) map[string]deal.Deal {
	t.Helper()
	rows, err := db.Conn().Query(context.Background(), `SELECT origin, deal_id, phone, toString(stage),
		toString(amount), loss_reason, source, manager, created_at, closed_at
		FROM deals ORDER BY origin, deal_id, version DESC LIMIT 1 BY origin, deal_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]deal.Deal{}
	for rows.Next() {
		var d deal.Deal
		var origin, stage, amount string
		if err := rows.Scan(&origin, &d.ID, &d.Phone, &stage, &amount, &d.LossReason, &d.Source, &d.Manager,
			&d.CreatedAt, &d.ClosedAt); err != nil {
			t.Fatal(err)
		}
		d.Stage = deal.Stage(stage)
		if d.Amount, err = deal.ParseAmount(amount); err != nil {
			t.Fatal(err)
		}
		d.CreatedAt = d.CreatedAt.UTC()
		if d.ClosedAt.Unix() == 0 {
			d.ClosedAt = time.Time{}
		} else {
			d.ClosedAt = d.ClosedAt.UTC()
		}
		out[origin+"/"+d.ID] = d
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUpsertDeals(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	created := time.Date(2026, 11, 10, 6, 15, 0, 0, time.UTC)
	open := deal.Deal{ID: "123", Phone: "+79161234567", Stage: deal.StageOpen, Amount: 4500050, Source: "vk_ads", CreatedAt: created}
	other := deal.Deal{ID: "7", Phone: "+79167654321", Stage: deal.StageLost, LossReason: "дорого", Manager: "101",
		CreatedAt: created, ClosedAt: created.Add(time.Hour)}
	if err := db.UpsertDeals(ctx, []deal.Deal{open, other}, "csv", t0); err != nil {
		t.Fatal(err)
	}
	// The same id from a CRM is a different deal.
	crm := deal.Deal{ID: "123", Phone: "+79031112233", Stage: deal.StageOpen, CreatedAt: created}
	if err := db.UpsertDeals(ctx, []deal.Deal{crm}, "bitrix24", t0); err != nil {
		t.Fatal(err)
	}
	// Re-importing the deal as won replaces every field, amount included.
	won := open
	won.Stage, won.Amount, won.Source, won.ClosedAt = deal.StageWon, 4800001, "", created.Add(72*time.Hour)
	if err := db.UpsertDeals(ctx, []deal.Deal{won}, "csv", t0.Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	want := map[string]deal.Deal{"csv/123": won, "csv/7": other, "bitrix24/123": crm}
	if got := storedDeals(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("stored deals:\n got %+v\nwant %+v", got, want)
	}
}

func TestUpsertDealsRejectsBadInput(t *testing.T) {
	db := openTestDB(t)
	created := time.Date(2026, 11, 10, 6, 15, 0, 0, time.UTC)
	good := deal.Deal{ID: "1", Phone: "+79161234567", Stage: deal.StageOpen, CreatedAt: created}
	noClose := deal.Deal{ID: "2", Phone: "+79161234567", Stage: deal.StageWon, CreatedAt: created}
	tests := []struct {
		name   string
		deals  []deal.Deal
		origin string
		want   string
	}{
		{"invalid deal", []deal.Deal{good, noClose}, "csv", `deal "2": closed_at`},
		{"same id twice", []deal.Deal{good, good}, "csv", `deal "1" appears twice`},
		{"no origin", []deal.Deal{good}, "", "origin"},
		{"odd origin", []deal.Deal{good}, "Bitrix 24", "origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.UpsertDeals(context.Background(), tt.deals, tt.origin, t0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("UpsertDeals = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "9161234567") {
				t.Errorf("error names the phone number: %v", err)
			}
		})
	}
	if got := storedDeals(t, db); len(got) != 0 {
		t.Errorf("stored %d deals after rejected upserts", len(got))
	}
}
