package zadarma

import (
	"net/url"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest/providertest"
)

func TestContract(t *testing.T) {
	var reqs []providertest.Request
	for _, name := range fixtureCalls {
		reqs = append(reqs, loadCall(t, name)...)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, msk)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	providertest.Run(t, providertest.Contract{
		Provider: newProvider(t),
		Requests: reqs,
		Want: []call.Call{
			// START, IVR, two extensions rung, 101 answers (NOTIFY_ANSWER
			// received 12 s after call_start), END after 132 s, RECORD.
			{Provider: Name, CallID: "in_4b0a5e8c3f0d2a7e9b1c6d5f4e3a2b1c0d9e8f7a", Direction: call.DirectionInbound,
				StartedAt: at("2024-05-14 10:21:05"), AnsweredAt: received.UTC(), EndedAt: at("2024-05-14 10:23:17"),
				ClientPhone: "+79161234567", LinePhone: "+74951234567", Manager: "101", Status: call.StatusAnswered,
				TalkSeconds: 120, RecordingRef: "1715671265.2871034"},
			// Two extensions rung, nobody answered.
			{Provider: Name, CallID: "in_7e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f", Direction: call.DirectionInbound,
				StartedAt: at("2024-05-14 12:40:00"), EndedAt: at("2024-05-14 12:40:25"),
				ClientPhone: "+79031112233", LinePhone: "+74957654321", Manager: "102", Status: call.StatusMissed},
			// Outbound, busy.
			{Provider: Name, CallID: "out_9c8b7a6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b", Direction: call.DirectionOutbound,
				StartedAt: at("2024-05-14 11:02:40"), EndedAt: at("2024-05-14 11:02:40"),
				ClientPhone: "+79161234567", LinePhone: "+74951234567", Manager: "101", Status: call.StatusBusy},
			// Outbound, answered: Zadarma sends no answer time for outbound
			// calls, so the reported duration is taken as talk time.
			{Provider: Name, CallID: "out_2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d", Direction: call.DirectionOutbound,
				StartedAt: at("2024-05-14 15:10:00"), EndedAt: at("2024-05-14 15:11:35"),
				ClientPhone: "+79261234567", LinePhone: "+74951234567", Manager: "102", Status: call.StatusAnswered,
				TalkSeconds: 95, RecordingRef: "1715692200.3310457"},
		},
		Forge: func(r providertest.Request) providertest.Request {
			r.Header = r.Header.Clone()
			r.Header.Set("Signature", sign([]byte("not-the-secret"), string(r.Body)))
			return r
		},
		Strip: func(r providertest.Request) providertest.Request {
			r.Header = r.Header.Clone()
			r.Header.Del("Signature")
			return r
		},
		Tamper: tamper,
		Now:    received,
	})
}

// tamper changes the last field the notification's Signature covers and
// keeps the Signature. Fields outside the signed string (duration,
// disposition, internal of NOTIFY_END, ...) are not protected by Zadarma's
// scheme (spec §1.3); docs/security.md says so.
func tamper(r providertest.Request) providertest.Request {
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		panic(err)
	}
	signed := kinds[form.Get("event")].signed
	last := signed[len(signed)-1]
	form.Set(last, form.Get(last)+"0")
	r.Body = []byte(form.Encode())
	return r
}
