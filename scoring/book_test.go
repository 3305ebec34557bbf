package scoring_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/callpulse/callpulse/internal/poll"
	"github.com/callpulse/callpulse/scoring"
)

// TestBookFollowsTheTables keeps one Scorer of each configuration, whose
// book of the touches reads only what changed, through every way the
// touches and deals change — new touches, a touch re-sent with another
// lead, merges, a merge of parts not read yet, deals that give a lead id
// a phone or close a lead, a mutation, TRUNCATE — and holds its queue,
// threshold and count above it, at every stage, to QueueRaw and
// ThresholdRaw; and checks that it read only the touch rows it had to.
func TestBookFollowsTheTables(t *testing.T) {
	e := newEnv(t)
	e.loadScenario(t)
	ctx := context.Background()
	exec := func(q string) {
		t.Helper()
		if err := e.db.Conn().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Merges only when a stage makes them, so that what each read costs is
	// known.
	exec("SYSTEM STOP MERGES touches")
	merge := func() {
		t.Helper()
		exec("SYSTEM START MERGES touches")
		exec("OPTIMIZE TABLE touches FINAL")
		exec("SYSTEM STOP MERGES touches")
	}

	configs := []struct {
		name string
		edit func(*scoring.Options)
		// sql: more touches are stored than the scorer keeps, so it keeps
		// none and computes in SQL.
		sql bool
	}{
		{"defaults", nil, false},
		{"once per action", func(o *scoring.Options) { o.OncePerAction = true }, false},
		{"decay of 7 days", func(o *scoring.Options) { o.Decay = 7 * 24 * time.Hour }, false},
		{"more touches than kept", func(o *scoring.Options) { o.KeepTouches = 2 }, true},
	}
	kept := make([]*scoring.Scorer, len(configs))
	for i, c := range configs {
		kept[i] = e.scorer(t, c.edit)
	}
	reads := make([]int, len(configs))
	// check compares every configuration at a stage and returns the touch
	// rows each book read for it.
	check := func(stage string) []int {
		t.Helper()
		read := make([]int, len(configs))
		for i, c := range configs {
			s, name := kept[i], stage+", "+c.name
			th, err := s.Threshold(ctx)
			if err != nil {
				t.Fatal(err)
			}
			thRaw, err := s.ThresholdRaw(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if th != thRaw {
				t.Errorf("%s: Threshold = %+v, ThresholdRaw = %+v", name, th, thRaw)
			}
			// Every lead, and the two hottest above the threshold
			// (TestQueueMatchesRaw tries the other limits and hiding).
			above := uint64(0)
			for _, c := range []struct {
				limit int
				all   bool
			}{{scoring.MaxQueueLimit, true}, {2, false}} {
				q, err := s.Queue(ctx, c.limit, c.all)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := s.QueueRaw(ctx, c.limit, c.all)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(q, raw) {
					t.Errorf("%s, limit %d, all %v:\n Queue    %+v\n QueueRaw %+v", name, c.limit, c.all, q, raw)
				}
				if c.all {
					for _, l := range raw.Leads {
						if l.AboveThreshold {
							above++
						}
					}
				}
			}
			n, err := s.AboveThreshold(ctx, thRaw.Value)
			if err != nil {
				t.Fatal(err)
			}
			if n != above {
				t.Errorf("%s: AboveThreshold = %d, want %d", name, n, above)
			}
			// The book serves unless, for the scorer that keeps two, more
			// than two touches are stored.
			if served, want := scoring.BookServed(s), !c.sql || e.storedTouches(t) <= 2; served != want {
				t.Errorf("%s: served from the book: %v, want %v", name, served, want)
			}
			now := scoring.BookReads(s)
			read[i], reads[i] = now-reads[i], now
		}
		return read
	}
	// same checks the rows each book read: want, or, for the scorer that
	// keeps fewer touches than are stored, wantSQL.
	same := func(stage string, got []int, want, wantSQL int) {
		t.Helper()
		for i, n := range got {
			w := want
			if configs[i].sql {
				w = wantSQL
			}
			if n != w {
				t.Errorf("%s, %s: the book read %d touch rows, want %d", stage, configs[i].name, n, w)
			}
		}
	}
	post := func(touches ...string) {
		t.Helper()
		body := "["
		for i, tc := range touches {
			if i > 0 {
				body += ","
			}
			body += tc
		}
		if rec := e.post(t, e.handler(t, e.scorer(t, nil)), []byte(body+"]")); rec.Code != 200 {
			t.Fatalf("POST %s: %d %s", body, rec.Code, rec.Body)
		}
	}
	stored := int(e.storedTouches(t))
	same("the scenario", check("the scenario"), stored, 0)

	// Another touch of O3, one of a new lead, and one of O4's lead id.
	post(`{"touch_id": "n-1", "phone": "+79160000203", "action": "application", "at": "2026-11-20T11:00:00Z"}`,
		`{"touch_id": "n-2", "phone": "+79160000301", "action": "consultation", "at": "2026-11-20T11:30:00Z", "utm_source": "vk"}`,
		`{"touch_id": "n-3", "lead_id": "crm-77", "action": "consultation", "at": "2026-11-20T11:40:00Z"}`)
	same("new touches", check("new touches"), 3, 0)

	// O2's consultation was O3's, and a day earlier; W1's pricing page
	// was an application.
	post(`{"touch_id": "o2-3", "phone": "+79160000203", "action": "consultation", "at": "2026-11-19T09:00:00Z"}`,
		`{"touch_id": "w1-2", "phone": "+79160000101", "action": "application", "at": "2026-11-02T10:00:00Z"}`)
	same("touches re-sent", check("touches re-sent"), 2, 0)

	merge()
	same("all parts merged", check("all parts merged"), 0, 0)

	// New parts merged with the old before the book reads them: the
	// merged part is read again whole.
	post(`{"touch_id": "n-4", "phone": "+79160000301", "action": "pricing_page", "at": "2026-11-20T11:50:00Z"}`)
	post(`{"touch_id": "n-1", "phone": "+79160000202", "action": "application", "at": "2026-11-20T11:00:00Z"}`)
	merge()
	same("new parts merged before being read", check("new parts merged before being read"), int(e.storedTouches(t)), 0)

	// crm-77 turns out to be …0204's deal; D-201 is won (a conversion,
	// and O1 leaves the queue).
	at := scenarioNow.Add(-30 * time.Minute)
	e.importDeals(t, "crm77_open.csv", at)
	e.importDeals(t, "d201_won.csv", at)
	same("deals imported", check("deals imported"), 0, 0)

	// A mutation submitted (merges are stopped, so it waits) has rewritten
	// no part: the table is as it was, and so is the book. (While it
	// rewrites them the scorers compute in SQL: TestMutating.)
	exec("ALTER TABLE touches DELETE WHERE touch_id IN ('o2-1', 'n-2')")
	same("a mutation submitted", check("a mutation submitted"), 0, 0)
	// Done, it has rewritten every part: the book reads them all again.
	exec("SYSTEM START MERGES touches")
	waitMutations(t, e)
	exec("SYSTEM STOP MERGES touches")
	same("a mutation", check("a mutation"), int(e.storedTouches(t)), 0)

	exec("TRUNCATE TABLE touches")
	post(`{"touch_id": "a-1", "phone": "+79160000202", "action": "pricing_page", "at": "2026-11-20T10:00:00Z"}`)
	// One touch is stored: now the scorer that kept none keeps it.
	same("truncated", check("truncated"), 1, 1)
	if q, err := kept[0].Queue(ctx, scoring.MaxQueueLimit, true); err != nil || len(q.Leads) != 1 {
		t.Errorf("after TRUNCATE: queue %+v, %v; want the one lead touched since", q, err)
	}
}

// waitMutations waits until ClickHouse has done the mutations of the
// database's tables.
func waitMutations(t *testing.T, e *env) {
	t.Helper()
	if err := poll.Until(context.Background(), time.Minute, 50*time.Millisecond, "the database's mutations done",
		func(ctx context.Context) (bool, error) {
			var pending uint64
			err := e.db.Conn().QueryRow(ctx,
				"SELECT count() FROM system.mutations WHERE database = currentDatabase() AND NOT is_done").Scan(&pending)
			return pending == 0, err
		}); err != nil {
		t.Fatal(err)
	}
}
