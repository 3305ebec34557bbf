package faults

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

// The ledger keeps, per webhook, whether any delivery was acknowledged,
// counts requests by outcome, and wakes waiters when their condition holds.
func TestLedger(t *testing.T) {
	tr := Traffic{Prefix: "l", Now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Seed: 1}
	c0, c1 := tr.Call(0), tr.Call(1)
	var known []string
	l := NewLedger(func(c Call) {
		if c.Known {
			known = append(known, c.ID)
		}
	})
	ok := &http.Response{StatusCode: http.StatusOK}
	full := &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"1"}}}
	bare := &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}}

	acked := l.AckedAtLeast(2)
	l.Record(c0, 0, full)
	l.Record(c0, 0, ok) // the PBX's retry
	l.Record(c0, 1, nil)
	l.Record(c1, 1, bare)
	select {
	case <-acked:
		t.Fatal("woken after one acknowledgement, want two")
	default:
	}
	l.Record(c1, 0, ok)
	select {
	case <-acked:
	default:
		t.Fatal("not woken after two acknowledgements")
	}

	if got, want := l.Counts(), (LedgerCounts{Sent: 5, Acked: 2, Failed: 1,
		Refused: map[int]int{http.StatusServiceUnavailable: 2}, NoRetryAfter: 1}); !reflect.DeepEqual(got, want) {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	if got, want := l.Unacked(), []Delivery{{c0, 1}, {c1, 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("unacked %v, want %v", got, want)
	}
	want := []SentCall{
		{ID: c0.ID, Phone: c0.Phone, Known: true, Want: c0.Want,
			Webhooks: []SentWebhook{{c0.Webhooks[0].Key, true}, {c0.Webhooks[1].Key, false}}},
		{ID: c1.ID, Phone: c1.Phone, Known: false, Want: c1.Want,
			Webhooks: []SentWebhook{{c1.Webhooks[0].Key, true}, {c1.Webhooks[1].Key, false}}},
	}
	if got := l.Sent(); !reflect.DeepEqual(got, want) {
		t.Errorf("sent %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(known, []string{c0.ID}) {
		t.Errorf("known callers announced: %v, want [%s] once", known, c0.ID)
	}
}
