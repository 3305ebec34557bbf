package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/client"
)

const testToken = "s3cret-token"

var moscow = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		panic(err)
	}
	return loc
}()

// fakeStore answers every query with fixed rows and records the period it
// was asked for.
type fakeStore struct {
	talk     []analytics.TalkRow
	sources  []analytics.SourceRow
	refusals []analytics.RefusalRow
	err      error
	asked    analytics.Period
}

func (f *fakeStore) Location() *time.Location { return moscow }

func (f *fakeStore) TalkTime(_ context.Context, p analytics.Period, _ []string) ([]analytics.TalkRow, error) {
	f.asked = p
	return f.talk, f.err
}

func (f *fakeStore) Sources(_ context.Context, p analytics.Period) ([]analytics.SourceRow, error) {
	f.asked = p
	return f.sources, f.err
}

func (f *fakeStore) Refusals(_ context.Context, p analytics.Period) ([]analytics.RefusalRow, error) {
	f.asked = p
	return f.refusals, f.err
}

// sampleStore has a row of every kind.
func sampleStore() *fakeStore {
	day := time.Date(2026, 11, 10, 0, 0, 0, 0, moscow)
	return &fakeStore{
		talk: []analytics.TalkRow{{Day: day, Extension: "101", Category: client.CategoryA, Seconds: 274, Calls: 1}},
		sources: []analytics.SourceRow{
			{Source: "vk_ads", Leads: 3, Reached: 2, Qualified: 1, Won: 1, Revenue: 4500050},
			{Source: "unknown", Leads: 1},
		},
		refusals: []analytics.RefusalRow{
			{Reason: "дорого", Source: "seo", Manager: "102", Deals: 1},
			{Reason: "дорого", Source: "vk_ads", Manager: "101", Deals: 1},
			{Reason: "дорого", Source: "vk_ads", Manager: "103", Deals: 1},
		},
	}
}

func newTestServer(store Store) (*Server, *http.ServeMux) {
	team := analytics.NewTeam([]analytics.Manager{
		{ID: "alice", Name: "Алиса", Extensions: []string{"101", "103"}},
		{ID: "bob", Name: "Борис", Extensions: []string{"102"}},
	})
	s := NewServer(testToken, store, team, analytics.Targets{client.CategoryA: 0.8, client.CategoryB: 0.19, client.CategoryC: 0.01},
		5*time.Second, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	s.Register(mux)
	return s, mux
}

func get(mux http.Handler, target, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func TestSourcesAndRefusals(t *testing.T) {
	tests := []struct {
		target string
		want   string
	}{
		{"/api/v1/sources?from=2026-11-10&to=2026-11-12", `{
  "from": "2026-11-10",
  "to": "2026-11-12",
  "timezone": "Europe/Moscow",
  "sources": [
    {
      "source": "vk_ads",
      "leads": 3,
      "reached": 2,
      "qualified": 1,
      "won": 1,
      "revenue": 45000.50,
      "unreachable_rate": 0.3333333333333333,
      "conversion": 0.3333333333333333
    },
    {
      "source": "unknown",
      "leads": 1,
      "reached": 0,
      "qualified": 0,
      "won": 0,
      "revenue": 0.00,
      "unreachable_rate": 1,
      "conversion": 0
    }
  ]
}
`},
		{"/api/v1/refusals?from=2026-11-10&to=2026-11-12", `{
  "from": "2026-11-10",
  "to": "2026-11-12",
  "timezone": "Europe/Moscow",
  "refusals": [
    {
      "reason": "дорого",
      "source": "vk_ads",
      "manager": "alice",
      "count": 2
    },
    {
      "reason": "дорого",
      "source": "seo",
      "manager": "bob",
      "count": 1
    }
  ]
}
`},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			store := sampleStore()
			_, mux := newTestServer(store)
			rec := get(mux, tt.target, testToken)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("body:\n%s\nwant:\n%s", got, tt.want)
			}
			wantFrom := time.Date(2026, 11, 10, 0, 0, 0, 0, moscow)
			wantTo := time.Date(2026, 11, 12, 0, 0, 0, 0, moscow)
			if !store.asked.From.Equal(wantFrom) || !store.asked.To.Equal(wantTo) {
				t.Errorf("asked for %v..%v, want %v..%v", store.asked.From, store.asked.To, wantFrom, wantTo)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	tests := []struct {
		name   string
		target string
		token  string
		err    error
		code   int
		msg    string
	}{
		{"no token", "/api/v1/sources", "", nil, http.StatusUnauthorized, "Bearer"},
		{"wrong token", "/api/v1/refusals", "s3cret-tokem", nil, http.StatusUnauthorized, "Bearer"},
		{"bad date", "/api/v1/sources?from=10.11.2026", testToken, nil, http.StatusBadRequest, `from \"10.11.2026\": want YYYY-MM-DD`},
		{"reversed", "/api/v1/refusals?from=2026-11-12&to=2026-11-10", testToken, nil, http.StatusBadRequest, "before"},
		{"too long", "/api/v1/sources?from=2025-01-01&to=2026-11-10", testToken, nil, http.StatusBadRequest, "longer than a year"},
		{"store fails", "/api/v1/sources", testToken, errors.New("clickhouse: connection refused"), http.StatusServiceUnavailable, "see the daemon log"},
		{"store fails", "/api/v1/refusals", testToken, errors.New("clickhouse: connection refused"), http.StatusServiceUnavailable, "see the daemon log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, mux := newTestServer(&fakeStore{err: tt.err})
			rec := get(mux, tt.target, tt.token)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.msg) {
				t.Errorf("GET %s = %d %s, want %d with %q", tt.target, rec.Code, rec.Body, tt.code, tt.msg)
			}
			if strings.Contains(rec.Body.String(), "connection refused") {
				t.Errorf("the store's error leaked to the client: %s", rec.Body)
			}
		})
	}
}

func TestDefaultPeriodIsToday(t *testing.T) {
	store := sampleStore()
	_, mux := newTestServer(store)
	before := time.Now().In(moscow)
	if rec := get(mux, "/api/v1/sources", testToken); rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	after := time.Now().In(moscow)
	day := store.asked.From.Format(time.DateOnly)
	if day != before.Format(time.DateOnly) && day != after.Format(time.DateOnly) || !store.asked.To.Equal(store.asked.From) {
		t.Errorf("default period %v..%v, want today", store.asked.From, store.asked.To)
	}
}
