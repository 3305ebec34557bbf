package bitrix24

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
)

func callRecord(key string, dir call.Direction, st call.Status, talk uint32) crmsync.CallRecord {
	return crmsync.CallRecord{
		Key: key, Direction: dir, Status: st, ClientPhone: "+79161234567", LinePhone: "+74951234567",
		Manager: "101", CRMUserID: "17", StartedAt: time.Date(2024, 5, 14, 7, 21, 5, 0, time.UTC), TalkSeconds: talk,
	}
}

func TestPushCall(t *testing.T) {
	tests := []struct {
		name     string
		rec      crmsync.CallRecord
		wantType string
		wantCode any // nil: STATUS_CODE not sent
	}{
		{"inbound answered", callRecord("zadarma:in_1", call.DirectionInbound, call.StatusAnswered, 42), "2", "200"},
		{"inbound missed", callRecord("zadarma:in_2", call.DirectionInbound, call.StatusMissed, 0), "2", "304"},
		{"outbound busy", callRecord("mango:out_3", call.DirectionOutbound, call.StatusBusy, 0), "1", "486"},
		{"outbound cancelled", callRecord("mango:out_4", call.DirectionOutbound, call.StatusCancelled, 0), "1", "603-S"},
		{"outbound failed", callRecord("mango:out_5", call.DirectionOutbound, call.StatusFailed, 0), "1", "OTHER"},
		{"status unknown", callRecord("generic:6", call.DirectionInbound, call.StatusNone, 3), "2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.CreateUnknown = true; o.CRMSource = "CALL" })
			ref, err := f.c.PushCall(context.Background(), tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			calls := f.srv.Calls()
			if len(calls) != 1 || calls[0].CallID != ref.ID || calls[0].ExternalCallID != tt.rec.Key {
				t.Fatalf("calls %+v, ref %q: want one call with EXTERNAL_CALL_ID %q", calls, ref.ID, tt.rec.Key)
			}
			reg := f.srv.Requests("telephony.externalCall.register")[0].Params
			want := map[string]string{
				"USER_ID": "17", "PHONE_NUMBER": "79161234567", "TYPE": tt.wantType,
				"CALL_START_DATE": "2024-05-14T10:21:05+03:00", "CRM_CREATE": "1", "CRM_SOURCE": "CALL",
				"SHOW": "0", "ADD_TO_CHAT": "0", "LINE_NUMBER": "74951234567", "EXTERNAL_CALL_ID": tt.rec.Key,
			}
			for k, v := range want {
				if got := str(reg[k]); got != v {
					t.Errorf("register %s = %q, want %q", k, got, v)
				}
			}
			fin := calls[0].Finish
			if str(fin["DURATION"]) != str(tt.rec.TalkSeconds) || str(fin["USER_ID"]) != "17" || fin["CALL_ID"] != ref.ID {
				t.Errorf("finish %v", fin)
			}
			if code, ok := fin["STATUS_CODE"]; tt.wantCode == nil && ok || tt.wantCode != nil && code != tt.wantCode {
				t.Errorf("STATUS_CODE = %v, want %v", code, tt.wantCode)
			}
		})
	}
}

func TestPushCallInvalid(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DefaultUserID = "" })
	for name, rec := range map[string]crmsync.CallRecord{
		"no user":           {Key: "k", Direction: call.DirectionInbound, ClientPhone: "+79161234567"},
		"non-numeric user":  {Key: "k", Direction: call.DirectionInbound, ClientPhone: "+79161234567", CRMUserID: "ivan"},
		"unknown direction": {Key: "k", ClientPhone: "+79161234567", CRMUserID: "1"},
		"no phone":          {Key: "k", Direction: call.DirectionInbound, CRMUserID: "1"},
	} {
		_, err := f.c.PushCall(context.Background(), rec)
		if ce := classified(t, err); ce.Retryable {
			t.Errorf("%s: %v is retryable", name, err)
		}
	}
	if n := len(f.srv.Requests("")); n != 0 {
		t.Errorf("%d requests sent for invalid records", n)
	}
}

// A finish that took effect but whose answer was lost must not produce a
// second call when the core retries the push.
func TestPushCallExactlyOnceAfterLostFinish(t *testing.T) {
	tests := []struct {
		name  string
		fault bitrix24test.Fault
	}{
		{"applied, answer lost", bitrix24test.Fault{After: true, Status: 502, Code: "INTERNAL_SERVER_ERROR"}},
		{"not applied", bitrix24test.Fault{Status: 503, Code: "QUERY_LIMIT_EXCEEDED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.srv.Fail("telephony.externalCall.finish", tt.fault)
			rec := callRecord("zadarma:in_1", call.DirectionInbound, call.StatusAnswered, 42)
			_, err := f.c.PushCall(context.Background(), rec)
			if ce := classified(t, err); !ce.Retryable {
				t.Fatalf("first push: %v: want retryable", err)
			}
			ref, err := f.c.PushCall(context.Background(), rec)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			calls := f.srv.Calls()
			if len(calls) != 1 || calls[0].Finish == nil || calls[0].CallID != ref.ID {
				t.Fatalf("calls %+v: want exactly one finished call %s", calls, ref.ID)
			}
			if n := len(f.srv.Requests("telephony.externalCall.register")); n != 1 {
				t.Errorf("%d registers, want 1", n)
			}
		})
	}
}

func TestWebhookRefusesTelephony(t *testing.T) {
	f := newFixture(t, nil)
	c, err := New(Options{WebhookURL: f.srv.WebhookURL(), DefaultUserID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PushCall(context.Background(), callRecord("k", call.DirectionInbound, call.StatusAnswered, 1))
	ce := classified(t, err)
	if ce.Retryable || ce.Reason != "WRONG_AUTH_TYPE" || !errors.Is(err, ErrNeedsApplication) {
		t.Errorf("webhook push: %v", err)
	}
	if n := len(f.srv.Requests("")); n != 0 {
		t.Errorf("%d requests sent", n)
	}
	// crm.* works through the webhook.
	if _, err := c.Call(context.Background(), "crm.deal.list", nil); err != nil {
		t.Errorf("crm.deal.list via webhook: %v", err)
	}
}

func TestAttachRecording(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	rec := callRecord("zadarma:in_1", call.DirectionInbound, call.StatusAnswered, 42)

	// Registered but not finished: Bitrix24 says "not finished yet".
	raw, err := f.c.Call(ctx, "telephony.externalCall.register", map[string]any{
		"USER_ID": 1, "PHONE_NUMBER": "79160000000", "TYPE": 2, "EXTERNAL_CALL_ID": "other"})
	if err != nil {
		t.Fatal(err)
	}
	var open registerResult
	if err := json.Unmarshal(raw, &open); err != nil {
		t.Fatal(err)
	}
	rec.RecordingURL = "https://callpulse.example/rec/1.mp3?sig=x"
	err = f.c.AttachRecording(ctx, crmsync.Ref{ID: open.CallID}, rec)
	if ce := classified(t, err); !ce.Retryable || ce.Reason != "ERROR_CORE" {
		t.Errorf("attach before finish: %v: want retryable ERROR_CORE", err)
	}

	ref, err := f.c.PushCall(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ url, file string }{
		{"https://callpulse.example/rec/1.mp3?sig=x", "zadarma_in_1.mp3"},
		{"https://callpulse.example/rec/1.WAV", "zadarma_in_1.wav"},
		{"https://callpulse.example/rec/1", "zadarma_in_1.mp3"},
	} {
		rec.RecordingURL = tt.url
		if err := f.c.AttachRecording(ctx, ref, rec); err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		reqs := f.srv.Requests("telephony.externalCall.attachRecord")
		p := reqs[len(reqs)-1].Params
		if p["CALL_ID"] != ref.ID || p["FILENAME"] != tt.file || p["RECORD_URL"] != tt.url {
			t.Errorf("attachRecord %v: want FILENAME %s", p, tt.file)
		}
	}
	rec.RecordingURL = ""
	if err := f.c.AttachRecording(ctx, ref, rec); classified(t, err).Retryable {
		t.Errorf("no URL: %v", err)
	}
}
