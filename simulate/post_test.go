package simulate

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"86400", retryAfterMax, true},
		{"Fri, 20 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Fri, 20 Nov 2026 11:00:00 GMT", 0, true}, // already past
		{"", 0, false},
		{"soon", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %t; want %v, %t", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// reply is one scripted response.
type reply struct {
	status     int
	retryAfter string
}

func TestPoster(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	backoffs := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	for _, tc := range []struct {
		name   string
		script []reply // nil: no server at all
		want   Stats
		sleeps []time.Duration
	}{
		{
			name:   "accepted",
			script: []reply{{202, ""}},
			want:   Stats{Posts: 1, Snapshots: 3},
		},
		{
			name:   "503 honours Retry-After seconds",
			script: []reply{{503, "7"}, {200, ""}},
			want:   Stats{Posts: 1, Snapshots: 3, Retried: 1},
			sleeps: []time.Duration{7 * time.Second},
		},
		{
			name:   "429 honours Retry-After date",
			script: []reply{{429, "Fri, 20 Nov 2026 12:00:10 GMT"}, {204, ""}},
			want:   Stats{Posts: 1, Snapshots: 3, Retried: 1},
			sleeps: []time.Duration{10 * time.Second},
		},
		{
			name:   "5xx without Retry-After backs off",
			script: []reply{{503, ""}, {502, ""}, {500, ""}, {202, ""}},
			want:   Stats{Posts: 1, Snapshots: 3, Retried: 3},
			sleeps: backoffs[:3],
		},
		{
			name:   "400 is rejected, not retried",
			script: []reply{{400, ""}},
			want:   Stats{Rejected: 1},
		},
		{
			name:   "401 is rejected, not retried",
			script: []reply{{401, ""}},
			want:   Stats{Rejected: 1},
		},
		{
			name:   "endless 503 is dropped",
			script: slices.Repeat([]reply{{503, "1"}}, maxAttempts),
			want:   Stats{Retried: maxAttempts - 1, Dropped: 1},
			sleeps: slices.Repeat([]time.Duration{time.Second}, maxAttempts-1),
		},
		{
			name:   "unreachable server is dropped after capped backoff",
			want:   Stats{Retried: maxAttempts - 1, Dropped: 1},
			sleeps: backoffs,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			requests := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if requests == len(tc.script) {
					t.Errorf("request %d beyond the script", requests+1)
					w.WriteHeader(http.StatusTeapot)
					return
				}
				rep := tc.script[requests]
				requests++
				if rep.retryAfter != "" {
					w.Header().Set("Retry-After", rep.retryAfter)
				}
				w.WriteHeader(rep.status)
			}))
			if tc.script == nil {
				srv.Close() // nothing listens at its address any more
			}
			defer srv.Close()

			clock := &fakeClock{now: now}
			var stats Stats
			p := poster{
				client:   srv.Client(),
				endpoint: srv.URL + "/webhooks/generic",
				token:    "t",
				unit:     "snapshots",
				now:      clock.Now,
				sleep:    clock.Sleep,
				log:      slog.New(slog.DiscardHandler),
				stats:    &stats,
				accepted: &stats.Snapshots,
			}
			if err := p.post(t.Context(), []byte(`[]`), 3); err != nil {
				t.Fatalf("post: %v", err)
			}
			if stats != tc.want {
				t.Errorf("stats = %v\nwant    %v", stats, tc.want)
			}
			if got := clock.sleeps(); !slices.Equal(got, tc.sleeps) {
				t.Errorf("slept %v, want %v", got, tc.sleeps)
			}
			mu.Lock()
			defer mu.Unlock()
			if requests != len(tc.script) {
				t.Errorf("%d requests, want the %d scripted", requests, len(tc.script))
			}
		})
	}
}
