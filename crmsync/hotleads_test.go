package crmsync_test

import (
	"testing"
	"time"

	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/amocrm"
	"github.com/callpulse/callpulse/crmsync/amocrm/amocrmtest"
)

// TestEnqueueHotLeadsOncePerCrossing: the same crossing reported by two
// overlapping scans is queued once; a later crossing of the same lead (it
// cooled down and came back) is queued again; a CRM without a hot-lead
// stage gets nothing.
func TestEnqueueHotLeadsOncePerCrossing(t *testing.T) {
	srv := amocrmtest.New(amocrmtest.Options{Token: token})
	t.Cleanup(srv.Close)
	moving, err := amocrm.New(amocrm.Options{Name: "amocrm", BaseURL: srv.URL, Token: token, HotLeadStatusID: 142001})
	if err != nil {
		t.Fatal(err)
	}
	still, err := amocrm.New(amocrm.Options{Name: "amocrm-still", BaseURL: srv.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := crmsync.New(crmsync.Options{Path: t.TempDir() + "/outbox.db", Targets: []crmsync.Target{{Pusher: moving}, {Pusher: still}},
		Catalog: &catalog{has: map[string]bool{}, after: map[string]int{}, lookups: map[string]int{}}, RecordingURL: recordingURL})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	hot := crmsync.HotLead{LeadID: "31415926", Score: 40, At: t0}
	for i, want := range []int{1, 0} {
		if n, err := ob.EnqueueHotLeads([]crmsync.HotLead{hot}); err != nil || n != want {
			t.Fatalf("scan %d queued %d, %v; want %d", i+1, n, err, want)
		}
	}
	hot.At = t0.Add(48 * time.Hour)
	if n, err := ob.EnqueueHotLeads([]crmsync.HotLead{hot}); err != nil || n != 1 {
		t.Fatalf("a new crossing queued %d, %v; want 1", n, err)
	}
	if p, err := ob.Pending(); err != nil || p != 2 {
		t.Errorf("pending = %d, %v; want 2 (both crossings, amocrm only)", p, err)
	}
}
