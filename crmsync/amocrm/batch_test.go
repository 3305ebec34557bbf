package amocrm_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/amocrm"
	"github.com/callpulse/callpulse/crmsync/amocrm/amocrmtest"
)

// TestPushCallsPostsOneBatch: known callers' calls go out in one POST
// /api/v4/calls and each answer is matched by request_id; an unknown
// caller, not attached by the batch, gets a lead and its call.
func TestPushCallsPostsOneBatch(t *testing.T) {
	c, srv := newPair(t, amocrm.Options{CreateLeads: true})
	start := time.Date(2024, 5, 14, 7, 21, 5, 0, time.UTC)
	var recs []crmsync.CallRecord
	for i := range 5 {
		phone := fmt.Sprintf("+7916123450%d", i)
		if i != 3 {
			srv.KnowPhone(phone)
		}
		recs = append(recs, crmsync.CallRecord{Key: fmt.Sprintf("generic:b%d", i), Direction: call.DirectionInbound,
			Status: call.StatusAnswered, ClientPhone: phone, Manager: "101", CRMUserID: "6543210", StartedAt: start, TalkSeconds: uint32(60 + i)})
	}
	res := c.PushCalls(context.Background(), recs)
	for i, r := range res {
		if r.Err != nil || r.Ref.ID == "" {
			t.Fatalf("call %d: %+v", i, r)
		}
	}
	posts := 0
	for _, q := range srv.Log() {
		if q.Method == "POST" && q.Path == "/api/v4/calls" {
			posts++
		}
	}
	if posts != 3 { // the batch, then the unknown caller's call before and after its lead
		t.Errorf("POST /api/v4/calls = %d, want 3 (one batch, two for the unknown caller)", posts)
	}
	got := map[string]int{}
	for _, cl := range srv.Calls() {
		got[cl.Key] = cl.Duration
	}
	for i, r := range recs {
		if got[r.Key] != 60+i {
			t.Errorf("%s: duration %d in the CRM, want %d", r.Key, got[r.Key], 60+i)
		}
	}
	if n := len(srv.Leads()); n != 1 {
		t.Errorf("leads = %d, want 1 (for the unknown caller)", n)
	}
}

func TestMoveLead(t *testing.T) {
	c, srv := newPair(t, amocrm.Options{HotLeadStatusID: 142001, HotLeadPipelineID: 7001})
	cid := srv.AddContact("Client", "+79165550101")
	id := srv.PutLead(amocrmtest.Lead{Name: "Hot", StatusID: 10, PipelineID: 7000, ContactIDs: []int64{cid}})
	if err := c.MoveLead(context.Background(), crmsync.HotLead{LeadID: fmt.Sprint(id)}); err != nil {
		t.Fatalf("MoveLead: %v", err)
	}
	for _, l := range srv.Leads() {
		if l.ID == id && (l.StatusID != 142001 || l.PipelineID != 7001) {
			t.Errorf("lead %d: status %d pipeline %d, want 142001 in 7001", id, l.StatusID, l.PipelineID)
		}
	}
	for _, hl := range []crmsync.HotLead{{Phone: "+79165550101"}, {LeadID: "L_5"}, {LeadID: "999999"}} {
		if ce := crmsync.Classify(c.MoveLead(context.Background(), hl)); ce == nil || ce.Retryable {
			t.Errorf("MoveLead(%+v) = %v, want a permanent error", hl, ce)
		}
	}
}
