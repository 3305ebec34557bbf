package gravitel

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest/providertest"
)

// TestContract runs three whole calls through the shared provider
// contract. Every call ends at `received`, when its events arrive, so that
// the event times (arrival) and the history times (PBX clock) tell the same
// story.
func TestContract(t *testing.T) {
	req := func(body string) providertest.Request {
		return providertest.Request{Path: "/webhooks/gravitel", Body: []byte("crm_token=" + testToken + "&" + body),
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
	}
	const answered = "callid=28187487-edcf-4d23-9f95-c8591fbd9936"
	const busy = "callid=0c5e7a10-3f2b-4d1e-9a77-5b6c2d8e1f00"
	const missed = "callid=5a1f0c2e-2222-4c3a-9e0b-7d2a6b9c0002"
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }

	providertest.Run(t, providertest.Contract{
		Provider: newProvider(t),
		Requests: []providertest.Request{
			// Inbound, answered by ivanov after 12 s, 120 s of talk, recorded.
			req("cmd=contact&" + answered + "&phone=79161234567&diversion=74951234567"),
			req("cmd=event&type=INCOMING&" + answered + "&phone=79161234567&diversion=74951234567&user=ivanov&ext=701&direction=in"),
			req("cmd=event&type=INCOMING&" + answered + "&phone=79161234567&diversion=74951234567&user=petrov&ext=702&direction=in"),
			req("cmd=event&type=ACCEPTED&" + answered + "&phone=79161234567&diversion=74951234567&user=ivanov&ext=701"),
			req("cmd=event&type=CANCELLED&" + answered + "&phone=79161234567&user=petrov"),
			req("cmd=event&type=COMPLETED&" + answered + "&phone=79161234567&diversion=74951234567&user=ivanov&ext=701"),
			req("cmd=history&" + answered + "&type=in&user=ivanov&ext=701&phone=79161234567&diversion=74951234567" +
				"&start=20240514T072105Z&duration=132&wait=12&link=https%3A%2F%2Fvpbx.example.megapbx.ru%2Frecords%2F28187487.mp3&status=Success"),
			req("cmd=rating&" + answered + "&rating=5&phone=79161234567&user=ivanov&ext=701"),
			// Outbound by admin, the client is busy.
			req("cmd=event&type=OUTGOING&" + busy + "&phone=79161234567&user=admin&ext=701"),
			req("cmd=history&" + busy + "&type=out&user=admin&ext=701&phone=79161234567&start=20240514T072257Z&duration=20&status=Busy"),
			// Inbound, rang ivanov and petrov, nobody answered.
			req("cmd=event&type=INCOMING&" + missed + "&phone=89265550202&diversion=74951234567&user=ivanov"),
			req("cmd=event&type=INCOMING&" + missed + "&phone=89265550202&diversion=74951234567&user=petrov"),
			req("cmd=event&type=CANCELLED&" + missed + "&phone=89265550202&user=ivanov"),
			req("cmd=event&type=CANCELLED&" + missed + "&phone=89265550202&user=petrov"),
			req("cmd=history&" + missed + "&type=in&user=ivanov&phone=89265550202&diversion=74951234567&start=20240514T072247Z&duration=30&status=missed"),
		},
		Want: []call.Call{
			{Provider: Name, CallID: "28187487-edcf-4d23-9f95-c8591fbd9936", Direction: call.DirectionInbound,
				StartedAt: at("2024-05-14T07:21:05Z"), AnsweredAt: at("2024-05-14T07:21:17Z"), EndedAt: received,
				ClientPhone: "+79161234567", LinePhone: "+74951234567", Manager: "ivanov", Status: call.StatusAnswered,
				TalkSeconds: 120, RecordingURL: "https://vpbx.example.megapbx.ru/records/28187487.mp3"},
			{Provider: Name, CallID: "0c5e7a10-3f2b-4d1e-9a77-5b6c2d8e1f00", Direction: call.DirectionOutbound,
				StartedAt: at("2024-05-14T07:22:57Z"), EndedAt: received, ClientPhone: "+79161234567",
				Manager: "admin", Status: call.StatusBusy},
			{Provider: Name, CallID: "5a1f0c2e-2222-4c3a-9e0b-7d2a6b9c0002", Direction: call.DirectionInbound,
				StartedAt: at("2024-05-14T07:22:47Z"), EndedAt: received, ClientPhone: "+79265550202",
				LinePhone: "+74951234567", Manager: "ivanov", Status: call.StatusMissed},
		},
		Forge: func(r providertest.Request) providertest.Request {
			r.Body = []byte(strings.Replace(string(r.Body), "crm_token="+testToken, "crm_token=forged-key", 1))
			return r
		},
		Strip: func(r providertest.Request) providertest.Request {
			r.Body = []byte(strings.Replace(string(r.Body), "crm_token="+testToken+"&", "", 1))
			return r
		},
		// The CRM API authenticates with a bare token and signs nothing: no
		// Tamper. Its cmd=event carries no time: a stale COMPLETED or
		// CANCELLED ends the call when it arrives, but that is an
		// arrival-time end, and every call here has its history, whose end
		// (PBX clock) wins, so a stale replay changes nothing (F9 in
		// docs/security.md).
		Now: received,
	})
}

// TestArrivalEndsGiveWayToHistory follows one call as its requests arrive:
// cmd=event's ends are arrival-time ends, which stand in (the latest one
// winning) until history brings the end on the PBX's clock; from then on
// a late or replayed COMPLETED changes nothing.
func TestArrivalEndsGiveWayToHistory(t *testing.T) {
	p := newProvider(t)
	read := func(name string) []byte { return readFixture(t, filepath.Join("testdata", name+".form")) }
	accepted, completed, history := read("event_accepted"), read("event_completed"), read("history_in_answered")
	// history_in_answered: start 07:21:05, duration 132 s (ends at
	// received), no wait: the answer comes from ACCEPTED.
	answered := received.Add(-120 * time.Second)
	steps := []struct {
		name  string
		body  []byte
		at    time.Time
		ended time.Time
		talk  uint32
	}{
		{"ACCEPTED", accepted, answered, time.Time{}, 0},
		{"COMPLETED", completed, received, received, 120},
		{"COMPLETED retried an hour later", completed, received.Add(time.Hour), received.Add(time.Hour), 3720},
		{"history", history, received.Add(time.Hour + time.Second), received, 120},
		{"COMPLETED replayed a month later", completed, received.Add(30 * 24 * time.Hour), received, 120},
	}
	var events []call.Event
	for _, s := range steps {
		parsed, err := p.Parse(request(s.body), s.body, s.at)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		events = append(events, parsed.Events...)
		c := call.Fold(events)
		if !c.EndedAt.Equal(s.ended) || c.TalkSeconds != s.talk {
			t.Errorf("after %s: ended %v, talk %d s; want %v, %d s", s.name, c.EndedAt, c.TalkSeconds, s.ended, s.talk)
		}
	}
}
