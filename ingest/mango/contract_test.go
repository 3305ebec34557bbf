package mango

import (
	"net/url"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest/providertest"
)

// Fixtures of whole calls, every notification Mango sends for each.
var (
	inboundAnswered = []string{
		"call.in_ivr_appeared", "call.in_ivr_connected", "call.in_abonent_appeared",
		"call.in_abonent_connected", "call.in_ivr_disconnected", "call.in_abonent_onhold",
		"call.in_abonent_resumed", "call.in_abonent_disconnected", "summary.in_answered",
		"recording.in_started", "recording.in_completed", "record_added.in",
	}
	outboundBusy = []string{
		"call.out_busy_appeared", "call.out_busy_disconnected", "summary.out_busy",
	}
	inboundMissed = []string{
		"call.missed_ivr_appeared", "call.missed_ring_101", "call.missed_ring_104",
		"call.missed_ring_101_end", "call.missed_ring_104_end", "call.missed_ivr_disconnected",
		"summary.in_missed",
	}
	outboundAnswered = []string{
		"call.out_answered_appeared", "call.out_answered_connected",
		"call.out_answered_disconnected", "summary.out_answered",
	}
)

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }

var wantCalls = []call.Call{
	{Provider: Name, CallID: "MzI0NjQ5NjQ0MjoxMDE=", Direction: call.DirectionInbound,
		StartedAt: unix(1715671265), AnsweredAt: unix(1715671279), EndedAt: unix(1715671411),
		ClientPhone: "+79161234567", LinePhone: "+74951234567", Manager: "101",
		Status: call.StatusAnswered, TalkSeconds: 132, RecordingRef: "MToxMDA1NzU5MzoxMjM0NTY3ODk6MA=="},
	{Provider: Name, CallID: "MzI0NjQ5NjUwMDoxMDI=", Direction: call.DirectionOutbound,
		StartedAt: unix(1715672000), EndedAt: unix(1715672012),
		ClientPhone: "+79167654321", LinePhone: "+74951234567", Manager: "102", Status: call.StatusBusy},
	{Provider: Name, CallID: "MzI0NjQ5NjYwMDoxMDM=", Direction: call.DirectionInbound,
		StartedAt: unix(1715673000), EndedAt: unix(1715673030),
		ClientPhone: "+79031112233", LinePhone: "+74957654321", Manager: "101", Status: call.StatusMissed},
	{Provider: Name, CallID: "MzI0NjQ5NjcwMDoxMDM=", Direction: call.DirectionOutbound,
		StartedAt: unix(1715674000), AnsweredAt: unix(1715674009), EndedAt: unix(1715674100),
		ClientPhone: "+79261112233", LinePhone: "+74951234567", Manager: "103",
		Status: call.StatusAnswered, TalkSeconds: 91},
}

func contractRequests(t *testing.T, calls ...[]string) []providertest.Request {
	var reqs []providertest.Request
	for _, names := range calls {
		for _, name := range names {
			reqs = append(reqs, signed(fixture(t, name)))
		}
	}
	return reqs
}

func TestContract(t *testing.T) {
	providertest.Run(t, providertest.Contract{
		Provider: newProvider(t),
		Requests: contractRequests(t, inboundAnswered, outboundBusy, inboundMissed, outboundAnswered),
		Want:     wantCalls,
		Forge:    forge,
		Strip:    strip,
		Tamper:   tamper,
		Now:      received,
	})
}

// tamper changes the signed JSON payload and keeps key and sign.
func tamper(r providertest.Request) providertest.Request {
	v := mustForm(r)
	v.Set(fieldJSON, v.Get(fieldJSON)+" ")
	r.Body = []byte(v.Encode())
	return r
}

// forge re-signs a request with a salt that is not ours.
func forge(r providertest.Request) providertest.Request {
	v := mustForm(r)
	v.Set(fieldSign, Sign(v.Get(fieldKey), "not-our-salt", v.Get(fieldJSON)))
	r.Body = []byte(v.Encode())
	return r
}

// strip removes the credentials from a request.
func strip(r providertest.Request) providertest.Request {
	v := mustForm(r)
	v.Del(fieldKey)
	v.Del(fieldSign)
	r.Body = []byte(v.Encode())
	return r
}

func mustForm(r providertest.Request) url.Values {
	v, err := url.ParseQuery(string(r.Body))
	if err != nil {
		panic(err)
	}
	return v
}
