package bitrix24

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
)

func TestClassify(t *testing.T) {
	now := time.Date(2024, 5, 14, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		status     int
		code, desc string
		header     string // Retry-After
		resetAt    float64
		retryable  bool
		reason     string
		retryAfter time.Duration
	}{
		{503, "QUERY_LIMIT_EXCEEDED", "Too many requests", "", 0, true, "QUERY_LIMIT_EXCEEDED", 0},
		{503, "QUERY_LIMIT_EXCEEDED", "", "3", 0, true, "QUERY_LIMIT_EXCEEDED", 3 * time.Second},
		{429, "OPERATION_TIME_LIMIT", "", "", float64(now.Add(90 * time.Second).Unix()), true, "OPERATION_TIME_LIMIT", 90 * time.Second},
		{503, "OVERLOAD_LIMIT", "", "", 0, true, "OVERLOAD_LIMIT", 0},
		{500, "INTERNAL_SERVER_ERROR", "", "", 0, true, "INTERNAL_SERVER_ERROR", 0},
		{502, "", "", "Tue, 14 May 2024 10:00:30 GMT", 0, true, "Bad Gateway", 30 * time.Second},
		{400, "ERROR_CORE", "Call is not found in the statistic table. It looks like it is not finished yet.", "", 0, true, "ERROR_CORE", 0},
		{400, "ERROR_CORE", "Unsupported phone number format", "", 0, false, "ERROR_CORE", 0},
		{403, "WRONG_AUTH_TYPE", "Current authorization type is denied for this method", "", 0, false, "WRONG_AUTH_TYPE", 0},
		{400, "INVALID_ARGUMENT", "CALL_ID must be a string", "", 0, false, "INVALID_ARGUMENT", 0},
		{401, "expired_token", "", "", 0, false, "expired_token", 0},
		{401, "NO_AUTH_FOUND", "", "", 0, false, "NO_AUTH_FOUND", 0},
		{403, "insufficient_scope", "", "", 0, false, "insufficient_scope", 0},
		{400, "ERROR_BATCH_LENGTH_EXCEEDED", "", "", 0, false, "ERROR_BATCH_LENGTH_EXCEEDED", 0},
		{404, "", "", "", 0, false, "Not Found", 0},
		{200, "ERROR_CORE", "error in a 200", "", 0, false, "ERROR_CORE", 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Retry-After", tt.header)
		}
		e := apiError{Code: tt.code, Description: tt.desc}
		e.Time.OperatingResetAt = tt.resetAt
		got := classify("m", tt.status, h, e, now)
		if got.Retryable != tt.retryable || got.Reason != tt.reason || got.RetryAfter != tt.retryAfter || got.Status != tt.status {
			t.Errorf("%d %s %q: got %+v, want retryable=%v reason=%s after=%v", tt.status, tt.code, tt.desc, got, tt.retryable, tt.reason, tt.retryAfter)
		}
	}
}

// Scripted faults of the emulator arrive classified.
func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      bitrix24test.Fault
		retryable  bool
		reason     string
		retryAfter time.Duration
	}{
		{"5xx", bitrix24test.Fault{Status: 500, Code: "INTERNAL_SERVER_ERROR"}, true, "INTERNAL_SERVER_ERROR", 0},
		{"bare 502", bitrix24test.Fault{Status: 502}, true, "Bad Gateway", 0},
		{"503 with Retry-After", bitrix24test.Fault{Status: 503, Code: "QUERY_LIMIT_EXCEEDED", RetryAfter: "5"}, true, "QUERY_LIMIT_EXCEEDED", 5 * time.Second},
		{"slow", bitrix24test.Fault{Hang: true}, true, "timeout", 0},
		{"403 scope", bitrix24test.Fault{Status: 403, Code: "insufficient_scope"}, false, "insufficient_scope", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The timeout only bounds the hung request; no test asserts on
			// elapsed time.
			f := newFixture(t, func(o *Options) { o.Timeout = 200 * time.Millisecond })
			f.srv.Fail("crm.deal.list", tt.fault)
			_, err := f.c.Call(context.Background(), "crm.deal.list", nil)
			ce := classified(t, err)
			if ce.Retryable != tt.retryable || ce.Reason != tt.reason || ce.RetryAfter != tt.retryAfter {
				t.Errorf("got %+v (%v)", ce, err)
			}
			if _, err := f.c.Call(context.Background(), "crm.deal.list", nil); err != nil {
				t.Errorf("after the fault: %v", err)
			}
		})
	}
}

// Beyond the burst of 50 the leaky bucket answers 503
// QUERY_LIMIT_EXCEEDED, which is retryable; it drains 2 requests a second.
func TestLeakyBucket(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	for i := range 50 {
		if _, err := f.c.Call(ctx, "crm.deal.list", nil); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	_, err := f.c.Call(ctx, "crm.deal.list", nil)
	if ce := classified(t, err); !ce.Retryable || ce.Status != 503 || ce.Reason != "QUERY_LIMIT_EXCEEDED" {
		t.Fatalf("request 51: %v: want retryable 503 QUERY_LIMIT_EXCEEDED", err)
	}
	f.clock.Advance(time.Second)
	for i := range 2 {
		if _, err := f.c.Call(ctx, "crm.deal.list", nil); err != nil {
			t.Fatalf("after 1 s, request %d: %v", i+1, err)
		}
	}
	if _, err := f.c.Call(ctx, "crm.deal.list", nil); !classified(t, err).Retryable {
		t.Fatalf("third request after 1 s: %v: want the bucket full again", err)
	}
}

func TestCancelledContext(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.Fail("crm.deal.list", bitrix24test.Fault{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.c.Call(ctx, "crm.deal.list", nil); err == nil || ctx.Err() == nil {
		t.Fatalf("got %v", err)
	}
}
