package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/analytics"
)

// The fake answers of the missed-call, speed-to-lead and repeat-caller
// queries; every sample fills every field (the OpenAPI test checks them).
func sampleMissed() []analytics.MissedCall {
	return []analytics.MissedCall{
		{Provider: "generic", CallID: "c-1", ClientPhone: "+79161234567", Source: "yandex_direct", Owner: "102",
			At: time.Date(2026, 11, 10, 9, 0, 0, 0, moscow), CalledBackAt: time.Date(2026, 11, 10, 9, 10, 0, 0, moscow),
			CallbackSeconds: 600, WithinSLA: true},
		{Provider: "zadarma", CallID: "c-2", ClientPhone: "+79161234568", Source: "avito", Owner: "",
			At: time.Date(2026, 11, 11, 12, 0, 0, 0, moscow), CallbackSeconds: -1, Open: true},
	}
}

func sampleSpeed() []analytics.SpeedRow {
	return []analytics.SpeedRow{
		{Manager: "", Source: "avito", Leads: 1},
		{Manager: "alice", Source: "yandex_direct", Leads: 4, Reached: 4, MedianSeconds: 40, P90Seconds: 1810, WithinSLA: 3},
	}
}

func sampleRepeat() []analytics.RepeatCall {
	return []analytics.RepeatCall{
		{Provider: "generic", CallID: "c-3", ClientPhone: "+79161234569", Source: "avito",
			At: time.Date(2026, 11, 10, 10, 0, 0, 0, moscow), KnownSince: time.Date(2026, 11, 1, 10, 0, 0, 0, moscow)},
	}
}

func (f *fakeStore) Missed(_ context.Context, p analytics.Period, _ bool, _ time.Duration) ([]analytics.MissedCall, error) {
	f.asked = p
	if f.err != nil {
		return nil, f.err
	}
	return sampleMissed(), nil
}

func (f *fakeStore) SpeedToLead(_ context.Context, p analytics.Period, _ time.Duration, _ *analytics.Team) ([]analytics.SpeedRow, error) {
	f.asked = p
	if f.err != nil {
		return nil, f.err
	}
	return sampleSpeed(), nil
}

func (f *fakeStore) RepeatCallers(_ context.Context, p analytics.Period) ([]analytics.RepeatCall, error) {
	f.asked = p
	if f.err != nil {
		return nil, f.err
	}
	return sampleRepeat(), nil
}

// recordingStore remembers the arguments of the callback queries.
type recordingStore struct {
	*fakeStore
	openOnly bool
	sla      time.Duration
	team     *analytics.Team
}

func (r *recordingStore) Missed(ctx context.Context, p analytics.Period, openOnly bool, sla time.Duration) ([]analytics.MissedCall, error) {
	r.openOnly, r.sla = openOnly, sla
	return r.fakeStore.Missed(ctx, p, openOnly, sla)
}

func (r *recordingStore) SpeedToLead(ctx context.Context, p analytics.Period, sla time.Duration, team *analytics.Team) ([]analytics.SpeedRow, error) {
	r.sla, r.team = sla, team
	return r.fakeStore.SpeedToLead(ctx, p, sla, team)
}

const wantMissed = `{
  "from": "2026-11-10",
  "to": "2026-11-12",
  "timezone": "Europe/Moscow",
  "sla_seconds": %d,
  "missed": [
    {
      "provider": "generic",
      "call_id": "c-1",
      "client_phone": "+79161234567",
      "source": "yandex_direct",
      "owner": "bob",
      "owner_name": "Борис",
      "at": "2026-11-10T09:00:00+03:00",
      "called_back_at": "2026-11-10T09:10:00+03:00",
      "callback_seconds": 600,
      "open": false,
      "within_sla": true
    },
    {
      "provider": "zadarma",
      "call_id": "c-2",
      "client_phone": "+79161234568",
      "source": "avito",
      "owner": "",
      "owner_name": "",
      "at": "2026-11-11T12:00:00+03:00",
      "open": true,
      "within_sla": false
    }
  ]
}
`

func TestMissedEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		sla      time.Duration // Server.CallbackSLA
		openOnly bool
		wantSLA  time.Duration
	}{
		{"default SLA", "", 0, false, analytics.DefaultCallbackSLA},
		{"configured SLA", "", 10 * time.Minute, false, 10 * time.Minute},
		{"open only", "&open=true", 0, true, analytics.DefaultCallbackSLA},
		{"open=1", "&open=1", 0, true, analytics.DefaultCallbackSLA},
		{"open=false", "&open=false", 0, false, analytics.DefaultCallbackSLA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &recordingStore{fakeStore: &fakeStore{}}
			s, _ := newTestServer(store)
			s.CallbackSLA = tt.sla
			mux := http.NewServeMux()
			s.Register(mux)
			rec := get(mux, "/api/v1/missed?from=2026-11-10&to=2026-11-12"+tt.query, testToken)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			want := fmt.Sprintf(wantMissed, int64(tt.wantSLA/time.Second))
			if got := rec.Body.String(); got != want {
				t.Errorf("body:\n%s\nwant:\n%s", got, want)
			}
			if store.openOnly != tt.openOnly || store.sla != tt.wantSLA {
				t.Errorf("asked openOnly=%v sla=%v, want %v %v", store.openOnly, store.sla, tt.openOnly, tt.wantSLA)
			}
		})
	}
}

func TestSpeedAndRepeatEndpoints(t *testing.T) {
	tests := []struct {
		target string
		want   string
	}{
		{"/api/v1/speed-to-lead?from=2026-11-10&to=2026-11-12", `{
  "from": "2026-11-10",
  "to": "2026-11-12",
  "timezone": "Europe/Moscow",
  "sla_seconds": 900,
  "rows": [
    {
      "manager": "",
      "manager_name": "",
      "source": "avito",
      "leads": 1,
      "reached": 0,
      "median_seconds": 0,
      "p90_seconds": 0,
      "within_sla": 0
    },
    {
      "manager": "alice",
      "manager_name": "Алиса",
      "source": "yandex_direct",
      "leads": 4,
      "reached": 4,
      "median_seconds": 40,
      "p90_seconds": 1810,
      "within_sla": 3
    }
  ]
}
`},
		{"/api/v1/repeat-callers?from=2026-11-10&to=2026-11-12", `{
  "from": "2026-11-10",
  "to": "2026-11-12",
  "timezone": "Europe/Moscow",
  "sources": [
    {
      "source": "avito",
      "calls": 1,
      "clients": 1
    }
  ],
  "calls": [
    {
      "provider": "generic",
      "call_id": "c-3",
      "client_phone": "+79161234569",
      "source": "avito",
      "at": "2026-11-10T10:00:00+03:00",
      "known_since": "2026-11-01T10:00:00+03:00"
    }
  ]
}
`},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			store := &recordingStore{fakeStore: &fakeStore{}}
			s, mux := newTestServer(store)
			rec := get(mux, tt.target, testToken)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("body:\n%s\nwant:\n%s", got, tt.want)
			}
			wantFrom := time.Date(2026, 11, 10, 0, 0, 0, 0, moscow)
			if !store.asked.From.Equal(wantFrom) {
				t.Errorf("asked for %v, want from %v", store.asked.From, wantFrom)
			}
			if strings.Contains(tt.target, "speed") && store.team != s.team {
				t.Errorf("speed to lead was not asked with the team")
			}
		})
	}
}

func TestCallbackEndpointErrors(t *testing.T) {
	fail := errors.New("clickhouse: connection refused")
	tests := []struct {
		target string
		err    error
		code   int
		msg    string
	}{
		{"/api/v1/missed?open=maybe", nil, http.StatusBadRequest, "open: want true or false"},
		{"/api/v1/missed?from=2026-11-12&to=2026-11-10", nil, http.StatusBadRequest, "before"},
		{"/api/v1/speed-to-lead?from=12.11.2026", nil, http.StatusBadRequest, "want YYYY-MM-DD"},
		{"/api/v1/repeat-callers?from=2025-01-01&to=2026-11-10", nil, http.StatusBadRequest, "longer than a year"},
		{"/api/v1/missed", fail, http.StatusServiceUnavailable, "see the daemon log"},
		{"/api/v1/speed-to-lead", fail, http.StatusServiceUnavailable, "see the daemon log"},
		{"/api/v1/repeat-callers", fail, http.StatusServiceUnavailable, "see the daemon log"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			_, mux := newTestServer(&fakeStore{err: tt.err})
			rec := get(mux, tt.target, testToken)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.msg) {
				t.Errorf("GET %s = %d %s, want %d with %q", tt.target, rec.Code, rec.Body, tt.code, tt.msg)
			}
			if strings.Contains(rec.Body.String(), "connection refused") {
				t.Errorf("the store's error leaked to the client: %s", rec.Body)
			}
		})
		t.Run(tt.target+" without token", func(t *testing.T) {
			_, mux := newTestServer(&fakeStore{})
			if rec := get(mux, tt.target, ""); rec.Code != http.StatusUnauthorized {
				t.Errorf("GET %s without a token = %d, want 401", tt.target, rec.Code)
			}
		})
	}
}
