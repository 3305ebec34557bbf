package bitrix24

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
	"github.com/callpulse/callpulse/deal"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/warehouse"
)

// TestPullLandsInClickHouse: a portal of 120 deals (three pages) is pulled
// by the scheduled syncer into a real warehouse with the categories,
// sources and outcomes mapped; the next sync fetches only what changed,
// and the change lands.
func TestPullLandsInClickHouse(t *testing.T) {
	ctx := context.Background()
	db, err := warehouse.Open(chtest.NewDatabase(t), warehouse.Options{DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(o *Options) {
		o.Pull = PullOptions{CategoryField: "UF_CRM_PRIORITY",
			CategoryValues: map[string]client.Category{"AAA": client.CategoryA, "BBB": client.CategoryB, "CCC": client.CategoryC},
			SourceField:    "UTM_SOURCE", Managers: map[string]string{"17": "101"}}
	})
	grades := []string{"AAA", "BBB", "CCC"}
	stages := []string{"S", "F", "P"}
	var ids []int
	for i := range 120 {
		contact := f.srv.Add("CONTACT", bitrix24test.Fields{"NAME": "Client", "PHONE": phoneField(fmt.Sprintf("8916%07d", i))})
		ids = append(ids, f.srv.Add("DEAL", bitrix24test.Fields{"CONTACT_ID": contact, "STAGE_SEMANTIC_ID": stages[i%3],
			"OPPORTUNITY": fmt.Sprintf("%d.00", 1000+i), "UF_CRM_PRIORITY": grades[i%3], "UTM_SOURCE": "VK Ads", "ASSIGNED_BY_ID": "17"}))
		f.clock.Advance(time.Second)
	}
	marks, err := crmsync.New(crmsync.Options{Path: t.TempDir() + "/outbox.db", Catalog: db,
		RecordingURL: func(string, string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	defer marks.Close()
	sy, err := crmsync.NewSyncer(crmsync.SyncOptions{Name: "bitrix24", Puller: f.c, Warehouse: db, Watermarks: marks})
	if err != nil {
		t.Fatal(err)
	}
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatalf("first sync: %v", err)
	}

	for i := range 3 {
		got, ok, err := db.Client(ctx, fmt.Sprintf("+7916%07d", i))
		want := []client.Category{client.CategoryA, client.CategoryB, client.CategoryC}[i]
		if err != nil || !ok || got.Category != want || got.Source != "vk_ads" || got.Manager != "101" {
			t.Errorf("client %d = %+v (found %v, %v), want category %s, source vk_ads, manager 101", i, got, ok, err, want)
		}
	}
	stageCount := func() map[string]uint64 {
		rows, err := db.Conn().Query(ctx, `SELECT toString(stage), count()
			FROM (SELECT * FROM deals WHERE origin = 'bitrix24' ORDER BY version DESC LIMIT 1 BY origin, deal_id)
			GROUP BY stage`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := map[string]uint64{}
		for rows.Next() {
			var stage string
			var c uint64
			if err := rows.Scan(&stage, &c); err != nil {
				t.Fatal(err)
			}
			n[stage] = c
		}
		return n
	}
	if got := stageCount(); got[string(deal.StageWon)] != 40 || got[string(deal.StageLost)] != 40 || got[string(deal.StageOpen)] != 40 {
		t.Errorf("deals by stage = %v, want 40 won, 40 lost, 40 open", got)
	}

	pages := len(f.srv.Requests("crm.deal.list"))
	f.clock.Advance(time.Minute)
	f.srv.Update("DEAL", ids[2], bitrix24test.Fields{"STAGE_SEMANTIC_ID": "S"}) // an open deal is won
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	if n := len(f.srv.Requests("crm.deal.list")) - pages; n != 1 {
		t.Errorf("second sync read %d deal pages, want 1 (only the change)", n)
	}
	if got := stageCount(); got[string(deal.StageWon)] != 41 || got[string(deal.StageOpen)] != 39 {
		t.Errorf("after the change: deals by stage = %v, want 41 won, 39 open", got)
	}
}
