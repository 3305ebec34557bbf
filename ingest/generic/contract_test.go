package generic

import (
	"net/http"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest/providertest"
)

func TestContract(t *testing.T) {
	req := func(body string) providertest.Request {
		return providertest.Request{Path: "/webhooks/generic", Body: []byte(body), Header: http.Header{
			"Authorization": {"Bearer " + testToken}, "Content-Type": {"application/json"}}}
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v.UTC() }
	providertest.Run(t, providertest.Contract{
		Provider: newProvider(t),
		Requests: []providertest.Request{
			req(`{"call_id":"c-1","direction":"inbound","started_at":"2026-11-20T09:15:00+03:00","answered_at":"2026-11-20T09:15:07+03:00","client_phone":"+79161234567","manager":"101","status":"answered"}`),
			req(`{"call_id":"c-1","direction":"inbound","started_at":"2026-11-20T09:15:00+03:00","answered_at":"2026-11-20T09:15:07+03:00","ended_at":"2026-11-20T09:19:41+03:00","client_phone":"+79161234567","manager":"101","status":"answered","recording_url":"https://pbx.example/rec/c-1.mp3"}`),
			req(`[{"call_id":"c-2","direction":"outbound","started_at":"2026-11-20T10:00:00+03:00","ended_at":"2026-11-20T10:00:20+03:00","client_phone":"89167654321","manager":"102","status":"busy"}]`),
		},
		Want: []call.Call{
			{Provider: "generic", CallID: "c-1", Direction: call.DirectionInbound, StartedAt: at("2026-11-20T06:15:00Z"),
				AnsweredAt: at("2026-11-20T06:15:07Z"), EndedAt: at("2026-11-20T06:19:41Z"), ClientPhone: "+79161234567",
				Manager: "101", Status: call.StatusAnswered, TalkSeconds: 274, RecordingURL: "https://pbx.example/rec/c-1.mp3"},
			{Provider: "generic", CallID: "c-2", Direction: call.DirectionOutbound, StartedAt: at("2026-11-20T07:00:00Z"),
				EndedAt: at("2026-11-20T07:00:20Z"), ClientPhone: "+79167654321", Manager: "102", Status: call.StatusBusy},
		},
		Forge: func(r providertest.Request) providertest.Request {
			r.Header = r.Header.Clone()
			r.Header.Set("Authorization", "Bearer forged")
			return r
		},
		Strip: func(r providertest.Request) providertest.Request {
			r.Header = r.Header.Clone()
			r.Header.Del("Authorization")
			return r
		},
		Now: received,
	})
}
