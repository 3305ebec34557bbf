package bitrix24

import (
	"context"
	"fmt"
	"testing"

	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
)

func TestMoveLead(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.HotLeadStatus = "IN_PROCESS" })
	lead := f.srv.Add("LEAD", bitrix24test.Fields{"STATUS_ID": "NEW", "PHONE": phoneField("+79165550101")})
	onlyContact := "+79165550102"
	f.srv.Add("CONTACT", bitrix24test.Fields{"PHONE": phoneField(onlyContact)})
	other := f.srv.Add("LEAD", bitrix24test.Fields{"STATUS_ID": "NEW"})

	tests := []struct {
		name      string
		lead      crmsync.HotLead
		moved     int // lead id expected IN_PROCESS, 0 for none
		permanent bool
	}{
		{"by the pull's lead id", crmsync.HotLead{LeadID: fmt.Sprintf("L_%d", other)}, other, false},
		{"by a bare id", crmsync.HotLead{LeadID: fmt.Sprint(lead)}, lead, false},
		{"by phone", crmsync.HotLead{Phone: "+79165550101"}, lead, false},
		{"a phone with a contact but no lead", crmsync.HotLead{Phone: onlyContact}, 0, true},
		{"a deal id is not a lead", crmsync.HotLead{LeadID: "D_5"}, 0, true},
		{"an unknown lead", crmsync.HotLead{LeadID: "L_999"}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, id := range []int{lead, other} {
				f.srv.Update("LEAD", id, bitrix24test.Fields{"STATUS_ID": "NEW"})
			}
			err := f.c.MoveLead(context.Background(), tt.lead)
			if tt.permanent {
				if ce := classified(t, err); ce.Retryable {
					t.Fatalf("MoveLead = %v, want a permanent error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("MoveLead: %v", err)
			}
			for _, l := range f.srv.Entities("LEAD") {
				want := "NEW"
				if fmt.Sprint(l["ID"]) == fmt.Sprint(tt.moved) {
					want = "IN_PROCESS"
				}
				if l["STATUS_ID"] != want {
					t.Errorf("lead %v: STATUS_ID %v, want %s", l["ID"], l["STATUS_ID"], want)
				}
			}
		})
	}
	if off := newFixture(t, nil); off.c.MovesLeads() {
		t.Error("MovesLeads without a hot lead status")
	}
}
