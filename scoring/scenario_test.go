package scoring_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/importer"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/scoring"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// The scenario (testdata/scenario): now is 2026-11-20 12:00 UTC, the
// look-back window (90 days) is (2026-08-22 12:00, now]. Points are the
// defaults (site_visit 5, pricing_page 15, form_view 5, application 20,
// email_open 2, link_click 3, video_download 10, consultation 25).
//
//	lead              touches (UTC)                                    deal                          score
//	W1 …0101          site_visit 20.10, pricing 2.11, application      won, closed 5.11 12:00        42 at conversion
//	                  3.11, email_open 4.11; site_visit 10.11 (after)                               (once 42, decay 7d 37)
//	W2 …0102 (no ids) site_visit 1.10 and 2.10, pricing 3.10,          won, closed 10.10 12:00       27 (once 22, decay 2)
//	                  email_open 4.10
//	W3 lead_id L-103  form_view 1.9, application 2.9, email_open 3.9   L-103 (…0103) won 5.9 12:00   27 (once 27, decay 27)
//	W4 …0104          pricing 30.6                                     won 1.7: before the window    not in the sample
//	W5 …0105          none                                             won 15.11                     not in the sample
//	W6 …0106          pricing 16.11, after its conversion              won 15.11                     not in the sample
//	L1 …0107          pricing 11.11                                    lost                          not open
//	O1 …0201          pricing 18.11 10:00 and 19.11 10:00,             D-201 open (seo, ext. 102)    50 (once 35, decay 50)
//	                  application 19.11 10:30 by lead_id D-201
//	O2 …0202          site_visit 19.11 14:00, video 19.11 15:00,       client Ольга, A, vk_ads, 101  40 (once 40, decay 40)
//	                  consultation 20.11 09:00
//	O3 …0203          site_visit 10.11 (utm google), 15.11, 20.11      none; called on the avito     15 (once 5, decay 10)
//	                  08:00                                            line
//	O4 lead_id crm-77 site_visit 9:30, pricing 10:00, application      none (crm-77 names no deal)   40 (once 40, decay 40)
//	                  11:00 (utm yandex) on 20.11
//	O5 …0205          email_open 20.11 07:00 (lead_id crm-88);         none                          2
//	                  link_click 20.11 13:00 (in the future)
//
// Threshold: (42 + 27 + 27) / 3 = 32 from 3 conversions; once per action
// (42 + 22 + 27) / 3; with a 7-day decay (37 + 2 + 27) / 3 = 22.
var scenarioNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const avitoLine = "+74951110002"

// team is the configured managers of the scenario.
var team = analytics.NewTeam([]analytics.Manager{
	{ID: "alice", Name: "Алиса", Extensions: []string{"101"}},
	{ID: "bob", Name: "Борис", Extensions: []string{"102"}},
})

// env is a fresh database with the scenario's clients, deals and calls,
// but no touches yet.
type env struct {
	db   *warehouse.DB
	norm *phone.Normalizer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, chtest.NewDatabase(t))
}

func newEnvOn(t *testing.T, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := warehouse.Open(dsn, warehouse.Options{QueryTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, norm: norm}
}

// loadScenario imports the scenario's clients, deals and calls and posts
// its touches through the handler.
func (e *env) loadScenario(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	imported := scenarioNow.Add(-time.Hour)
	clients, err := importer.ReadClients(openFixture(t, "clients.csv"), e.norm)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.UpsertClients(ctx, clients, "csv", imported); err != nil {
		t.Fatal(err)
	}
	e.importDeals(t, "deals.csv", imported)

	start := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	ev := call.Event{Provider: "generic", CallID: "o3-call", EventKey: "start", ReceivedAt: start,
		Direction: call.DirectionInbound, StartedAt: start, EndedAt: start.Add(time.Minute),
		ClientPhone: "+79160000203", LinePhone: avitoLine, Status: call.StatusMissed}
	b, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	w := warehouse.NewEventWriter(e.db, map[string]string{avitoLine: "avito"}, warehouse.NewMetrics(nil), nil)
	if err := w.Write(ctx, []spool.Record{{Seq: 1, Data: b}}); err != nil {
		t.Fatal(err)
	}

	body, err := os.ReadFile(filepath.Join("testdata", "scenario", "touches.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rec := e.post(t, e.handler(t, e.scorer(t, nil)), body); rec.Code != http.StatusOK {
		t.Fatalf("POST touches.json: %d %s", rec.Code, rec.Body)
	}
}

// importDeals upserts a deals file of the scenario as learned at `at`.
func (e *env) importDeals(t *testing.T, name string, at time.Time) {
	t.Helper()
	deals, err := importer.ReadDeals(openFixture(t, name), e.norm, time.UTC)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := e.db.UpsertDeals(context.Background(), deals, "csv", at); err != nil {
		t.Fatal(err)
	}
}

// scorer returns a Scorer at the scenario's now with the default options,
// changed by edit, and a minimum sample of 3.
func (e *env) scorer(t *testing.T, edit func(*scoring.Options)) *scoring.Scorer {
	t.Helper()
	opts := scoring.DefaultOptions()
	opts.MinSample = 3
	opts.Now = func() time.Time { return scenarioNow }
	if edit != nil {
		edit(&opts)
	}
	s, err := scoring.New(e.db.Conn(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) scoringHandler(t *testing.T, s *scoring.Scorer) *scoring.Handler {
	t.Helper()
	h, err := scoring.NewHandler(scoring.HandlerOptions{
		Scorer: s, Store: e.db, Normalizer: e.norm, Team: team,
		MaxBody: 64 << 10, Timeout: 20 * time.Second, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// handler is the handler's routes on a mux, as the daemon mounts them
// (behind the API token check, which package api tests).
func (e *env) handler(t *testing.T, s *scoring.Scorer) http.Handler {
	t.Helper()
	return mux(e.scoringHandler(t, s))
}

func mux(h *scoring.Handler) *http.ServeMux {
	m := http.NewServeMux()
	for _, r := range h.Routes() {
		m.Handle(r.Pattern, r.Handler)
	}
	return m
}

// post sends a touches body.
func (e *env) post(t *testing.T, h http.Handler, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/touches", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// storedTouches counts the touch rows, duplicates included.
func (e *env) storedTouches(t *testing.T) uint64 {
	t.Helper()
	var n uint64
	if err := e.db.Conn().QueryRow(context.Background(), "SELECT count() FROM touches").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func openFixture(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "scenario", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// key names a lead in assertions: its phone, or "lead:" and its lead id.
func key(phone, leadID string) string {
	if phone != "" {
		return phone
	}
	return "lead:" + leadID
}
