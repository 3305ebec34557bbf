package scoring_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/scoring"
)

// newestPublication reads the newest publication of lead_queue as the
// lead queue dashboard does: its threshold (rank 0) and its leads.
func newestPublication(t *testing.T, e *env) (float64, []scoring.Lead) {
	t.Helper()
	rows, err := e.db.Conn().Query(context.Background(), `
		SELECT rank, phone, lead_id, name, grade, source, manager, score, last_touch_at, above, threshold
		FROM lead_queue
		WHERE published = (SELECT max(published) FROM lead_queue)
		ORDER BY rank`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	threshold := -1.0
	var leads []scoring.Lead
	for rows.Next() {
		var rank uint32
		var l scoring.Lead
		var grade string
		var above uint8
		var th float64
		if err := rows.Scan(&rank, &l.Phone, &l.LeadID, &l.Name, &grade, &l.Source, &l.Manager, &l.Score,
			&l.LastTouchAt, &above, &th); err != nil {
			t.Fatal(err)
		}
		if rank == 0 {
			threshold = th
			continue
		}
		if int(rank) != len(leads)+1 {
			t.Fatalf("rank %d after %d leads", rank, len(leads))
		}
		l.Category, l.AboveThreshold, l.LastTouchAt = client.Category(grade), above == 1, l.LastTouchAt.UTC()
		leads = append(leads, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if threshold < 0 {
		t.Fatal("the newest publication has no rank 0")
	}
	return threshold, leads
}

// TestPublish: each publication is the queue (all leads, under the
// threshold too) and its threshold; the newest one replaces what came
// before, a shorter queue and an empty one included.
func TestPublish(t *testing.T) {
	for kind, keep := range map[string]func(*scoring.Options){
		"book": nil,
		"sql":  func(o *scoring.Options) { o.KeepTouches = 0 },
	} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			e.loadScenario(t)
			s := e.scorer(t, keep)
			check := func(stage string, wantLeads int) {
				t.Helper()
				if err := s.Publish(ctx); err != nil {
					t.Fatal(err)
				}
				q, err := s.Queue(ctx, scoring.MaxQueueLimit, true)
				if err != nil {
					t.Fatal(err)
				}
				th, leads := newestPublication(t, e)
				if th != q.Threshold.Value || (len(leads) > 0 || len(q.Leads) > 0) && !reflect.DeepEqual(leads, q.Leads) {
					t.Errorf("%s: published threshold %v, leads %+v;\nthe queue's %v, %+v", stage, th, leads, q.Threshold.Value, q.Leads)
				}
				if len(leads) != wantLeads {
					t.Errorf("%s: %d leads published, want %d", stage, len(leads), wantLeads)
				}
			}
			check("the scenario", 5)
			// Merged, the newest publication is still whole.
			if err := e.db.Conn().Exec(ctx, "OPTIMIZE TABLE lead_queue FINAL"); err != nil {
				t.Fatal(err)
			}
			if _, leads := newestPublication(t, e); len(leads) != 5 {
				t.Errorf("after OPTIMIZE FINAL: %d leads in the newest publication, want 5", len(leads))
			}
			// D-201 is won: its lead leaves the queue, the rest move up.
			e.importDeals(t, "d201_won.csv", scenarioNow.Add(-30*time.Minute))
			check("after D-201 is won", 4)
			if err := e.db.Conn().Exec(ctx, "TRUNCATE TABLE touches"); err != nil {
				t.Fatal(err)
			}
			check("no touches", 0)
		})
	}
}

// TestPublishOncePerInterval: of daemons sharing a ClickHouse, one
// publishes per round; a refresh that finds a publication younger than
// publishAfter refreshes its gauges and publishes nothing.
func TestPublishOncePerInterval(t *testing.T) {
	e := newEnv(t)
	e.loadScenario(t)
	publications := func() uint64 {
		t.Helper()
		var n uint64
		if err := e.db.Conn().QueryRow(context.Background(), "SELECT uniqExact(published) FROM lead_queue").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	daemons := make([]*scoring.Gauges, 2)
	for i := range daemons {
		daemons[i] = scoring.NewGauges(prometheus.NewRegistry(), e.scorer(t, nil), nil)
		scoring.SetPublishAfter(daemons[i], time.Hour)
	}
	for i, want := range []uint64{1, 1} {
		if err := daemons[i].Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := publications(); n != want {
			t.Fatalf("after daemon %d's refresh: %d publications, want %d", i+1, n, want)
		}
	}
	scoring.SetPublishAfter(daemons[1], 0)
	if err := daemons[1].Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := publications(); n != 2 {
		t.Fatalf("a refresh that does not wait: %d publications, want 2", n)
	}
}
