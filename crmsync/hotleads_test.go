package crmsync_test

import (
	"testing"
	"time"

	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/amocrm"
	"github.com/callpulse/callpulse/crmsync/amocrm/amocrmtest"
)

// TestEnqueueHotLeadsOnEntering feeds the outbox the hot-lead lists of
// successive scans: a lead moves when it enters the list and has had a
// touch since it was last listed, once, for the CRM with a hot-lead stage only;
// the list survives a restart; the first scan takes the leads that were hot
// already as moved.
func TestEnqueueHotLeadsOnEntering(t *testing.T) {
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
	path := t.TempDir() + "/outbox.db"
	open := func() *crmsync.Outbox {
		ob, err := crmsync.New(crmsync.Options{Path: path, Targets: []crmsync.Target{{Pusher: moving}, {Pusher: still}},
			Catalog: &catalog{has: map[string]bool{}, after: map[string]int{}, lookups: map[string]int{}}, RecordingURL: recordingURL})
		if err != nil {
			t.Fatal(err)
		}
		return ob
	}
	lead := func(id string, at time.Time) crmsync.HotLead { return crmsync.HotLead{LeadID: id, Score: 40, At: at} }
	byPhone := crmsync.HotLead{Phone: "+79160000202", Score: 45, At: t0}
	// The same phone lead once a touch named its CRM lead: still the same.
	byPhoneNamed := byPhone
	byPhoneNamed.LeadID = "L_77"
	lateWasHot := lead("400", t0)
	lateWasHot.WasHot = true
	wasHot := lead("100", t0)
	wasHot.WasHot = true
	scans := []struct {
		name    string
		hot     []crmsync.HotLead
		restart bool // close and reopen the outbox first
		want    int
	}{
		{"first scan: 100 was hot under the version before, 200 and the phone enter",
			[]crmsync.HotLead{wasHot, lead("200", t0), byPhone, byPhone}, false, 2},
		{"200 touched again while listed", []crmsync.HotLead{lead("100", t0), lead("200", t0.Add(time.Hour)), byPhone}, false, 0},
		{"after a restart, the same list", []crmsync.HotLead{lead("100", t0), lead("200", t0.Add(time.Hour)), byPhone}, true, 0},
		{"100 falls under a raised threshold", []crmsync.HotLead{lead("200", t0.Add(time.Hour)), byPhone}, false, 0},
		{"100 back under a lowered one, untouched", []crmsync.HotLead{lead("100", t0), lead("200", t0.Add(time.Hour)), byPhone}, false, 0},
		{"100 decays out", []crmsync.HotLead{lead("200", t0.Add(time.Hour)), byPhone}, false, 0},
		{"100 touched back over", []crmsync.HotLead{lead("100", t0.Add(48*time.Hour)), lead("200", t0.Add(time.Hour)), byPhone}, false, 1},
		{"a touch that arrived late, dated days back, lifts 300",
			[]crmsync.HotLead{lead("100", t0.Add(48*time.Hour)), lead("200", t0.Add(time.Hour)), byPhone, lead("300", t0.Add(-72*time.Hour))}, false, 1},
		{"the phone lead's touch names its CRM lead, the phone lead stays", []crmsync.HotLead{lead("100", t0.Add(48*time.Hour)),
			lead("200", t0.Add(time.Hour)), byPhoneNamed, lead("300", t0.Add(-72*time.Hour))}, false, 0},
		{"WasHot counts on the first scan only: 400 enters", []crmsync.HotLead{lead("100", t0.Add(48*time.Hour)),
			lead("200", t0.Add(time.Hour)), byPhoneNamed, lead("300", t0.Add(-72*time.Hour)), lateWasHot}, false, 1},
		{"200's touch re-sent with an earlier time", []crmsync.HotLead{lead("200", t0.Add(-time.Hour))}, false, 0},
		{"an empty list, a phone-less and id-less lead ignored", []crmsync.HotLead{{Score: 50, At: t0}}, false, 0},
		{"200 listed again, touched last while it was listed before", []crmsync.HotLead{lead("200", t0.Add(time.Hour))}, false, 0},
		{"everyone out", nil, false, 0},
		{"200 back with its touch re-sent dated earlier", []crmsync.HotLead{lead("200", t0.Add(-2*time.Hour))}, false, 0},
		{"everyone out again", nil, false, 0},
		{"200 back at a time before the one it left with", []crmsync.HotLead{lead("200", t0.Add(30*time.Minute))}, false, 0},
	}
	ob := open()
	defer func() { ob.Close() }()
	total := 0
	for _, sc := range scans {
		if sc.restart {
			if err := ob.Close(); err != nil {
				t.Fatal(err)
			}
			ob = open()
		}
		n, err := ob.EnqueueHotLeads(sc.hot)
		if err != nil || n != sc.want {
			t.Fatalf("%s: queued %d, %v; want %d", sc.name, n, err, sc.want)
		}
		total += n
	}
	if p, err := ob.Pending(); err != nil || p != total {
		t.Errorf("pending = %d, %v; want %d (every move, amocrm only)", p, err, total)
	}
}
