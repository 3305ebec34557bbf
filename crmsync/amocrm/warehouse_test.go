package amocrm_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/warehouse"
)

// TestPullLandsInClickHouse pulls the seeded, paged account into a real
// warehouse and reads clients and deals back.
func TestPullLandsInClickHouse(t *testing.T) {
	ctx := context.Background()
	dsn := chtest.NewDatabase(t)
	db, err := warehouse.Open(dsn, warehouse.Options{DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c, srv := newPair(t, pullOptions(t))
	seed(srv, 300)
	sy, err := crmsync.NewSyncer(crmsync.SyncOptions{Name: "amocrm", Puller: c, Warehouse: db,
		Watermarks: &memWatermarks{m: map[string]time.Time{}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatalf("sync: %v", err)
	}

	for _, tc := range []struct {
		i        int
		category client.Category
		source   string
	}{{1, client.CategoryB, "yandex_direct"}, {2, client.CategoryC, "yandex_direct"}, {3, client.CategoryA, "yandex_direct"}, {10, client.CategoryB, "google"}} {
		p := fmt.Sprintf("+7916100%02d%02d", tc.i/100, tc.i%100)
		got, ok, err := db.Client(ctx, p)
		if err != nil || !ok {
			t.Fatalf("client %d: ok=%v err=%v", tc.i, ok, err)
		}
		if got.Category != tc.category || got.Source != tc.source || got.Manager != "101" {
			t.Errorf("client %d = %+v, want category %s source %s", tc.i, got, tc.category, tc.source)
		}
	}

	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, `SELECT toString(stage), count(), toString(sum(amount)), countIf(loss_reason = 'Дорого')
		FROM (SELECT * FROM deals WHERE origin = 'amocrm' ORDER BY version DESC LIMIT 1 BY origin, deal_id)
		GROUP BY stage ORDER BY stage`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var stage, sum string
		var n, lost uint64
		if err := rows.Scan(&stage, &n, &sum, &lost); err != nil {
			t.Fatal(err)
		}
		got[stage] = fmt.Sprintf("%d deals, %s, %d Дорого", n, sum, lost)
	}
	// 300 leads, i%3: 0 won, 1 lost, 2 open; price 1000+i.
	want := map[string]string{
		"won":  fmt.Sprintf("100 deals, %d.00, 0 Дорого", sumPrices(0)),
		"lost": fmt.Sprintf("100 deals, %d.00, 100 Дорого", sumPrices(1)),
		"open": fmt.Sprintf("100 deals, %d.00, 0 Дорого", sumPrices(2)),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s, want %s", k, got[k], w)
		}
	}
}

func sumPrices(rem int) int {
	s := 0
	for i := rem; i < 300; i += 3 {
		s += 1000 + i
	}
	return s
}
