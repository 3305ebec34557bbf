package bitrix24

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
	"github.com/callpulse/callpulse/deal"
)

func phoneField(p string) []any { return []any{map[string]any{"VALUE": p, "VALUE_TYPE": "WORK"}} }

// 120 changed deals take three pages; their 120 contacts three batches.
func TestPullPagingAndIncremental(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	since := f.clock.Now()
	f.clock.Advance(time.Minute)
	var ids []int
	for i := range 120 {
		contact := f.srv.Add("CONTACT", bitrix24test.Fields{"NAME": "Client", "PHONE": phoneField(fmt.Sprintf("8916%07d", i))})
		ids = append(ids, f.srv.Add("DEAL", bitrix24test.Fields{"CONTACT_ID": contact, "STAGE_SEMANTIC_ID": "P", "OPPORTUNITY": "1000.00"}))
		f.clock.Advance(time.Second)
	}
	last := f.clock.Now().Add(-time.Second)

	ch, err := f.c.Pull(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Deals) != 120 || len(ch.Clients) != 120 {
		t.Fatalf("%d deals, %d clients: want 120 each", len(ch.Deals), len(ch.Clients))
	}
	if !ch.Until.Equal(last) {
		t.Errorf("until %v, want %v", ch.Until, last)
	}
	if n := len(f.srv.Requests("crm.deal.list")); n != 3 {
		t.Errorf("%d deal pages, want 3", n)
	}
	if n := len(f.srv.Requests("batch")); n != 3 {
		t.Errorf("%d contact batches, want 3", n)
	}
	seen := map[string]bool{}
	for _, d := range ch.Deals {
		if seen[d.ID] {
			t.Errorf("deal %s twice", d.ID)
		}
		seen[d.ID] = true
	}

	// Nothing changed: nothing comes back, the watermark stays.
	ch2, err := f.c.Pull(ctx, ch.Until)
	if err != nil || len(ch2.Deals) != 0 || len(ch2.Clients) != 0 || !ch2.Until.Equal(ch.Until) {
		t.Fatalf("unchanged pull: %+v, %v", ch2, err)
	}

	// Two deals change: only they come back.
	f.clock.Advance(time.Minute)
	f.srv.Update("DEAL", ids[7], bitrix24test.Fields{"STAGE_SEMANTIC_ID": "S"})
	f.srv.Update("DEAL", ids[99], bitrix24test.Fields{"STAGE_SEMANTIC_ID": "F"})
	ch3, err := f.c.Pull(ctx, ch.Until)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch3.Deals) != 2 || ch3.Deals[0].ID != fmt.Sprint("D_", ids[7]) || ch3.Deals[0].Stage != deal.StageWon ||
		ch3.Deals[1].Stage != deal.StageLost || !ch3.Until.Equal(f.clock.Now()) {
		t.Errorf("changed pull: %+v", ch3)
	}
}

func TestPullMapping(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Pull = PullOptions{
			CategoryField:  "UF_CRM_PRIORITY",
			CategoryValues: map[string]client.Category{"AAA": client.CategoryA, "45": client.CategoryB},
			NeedField:      "UF_NEED", BudgetField: "UF_BUDGET", UrgencyField: "UF_URGENT",
			FlagValues:      map[string]client.Flag{"61": client.FlagYes},
			SourceField:     "UTM_SOURCE",
			SourceValues:    map[string]string{"yandex.direct": "yandex"},
			LossReasonField: "UF_CRM_LOSS", LossReasonValues: map[string]string{"7": "too expensive"},
			Managers:     map[string]string{"17": "101"},
			LeadsAsDeals: true,
		}
	})
	ctx := context.Background()
	since := f.clock.Now()
	f.clock.Advance(time.Hour)
	closed := f.clock.Now().Add(48 * time.Hour).Format(isoLayout)
	c1 := f.srv.Add("CONTACT", bitrix24test.Fields{"NAME": "Ivan", "LAST_NAME": "Petrov", "PHONE": phoneField("+7 916 111-11-11")})
	c2 := f.srv.Add("CONTACT", bitrix24test.Fields{"NAME": "Anna", "PHONE": phoneField("89162222222")})
	c3 := f.srv.Add("CONTACT", bitrix24test.Fields{"NAME": "No phone"})
	f.srv.Add("DEAL", bitrix24test.Fields{"CONTACT_ID": c1, "STAGE_SEMANTIC_ID": "S", "OPPORTUNITY": "45000.50",
		"UF_CRM_PRIORITY": "AAA", "UTM_SOURCE": "yandex.direct", "ASSIGNED_BY_ID": "17", "CLOSEDATE": closed})
	f.srv.Add("DEAL", bitrix24test.Fields{"CONTACT_ID": c2, "STAGE_SEMANTIC_ID": "F", "OPPORTUNITY": 1200,
		"UF_NEED": "61", "UF_BUDGET": "Y", "UF_URGENT": "N", "UTM_SOURCE": "VK Ads!", "UF_CRM_LOSS": "7"})
	f.srv.Add("DEAL", bitrix24test.Fields{"CONTACT_ID": c3, "STAGE_SEMANTIC_ID": "P"})
	f.srv.Add("LEAD", bitrix24test.Fields{"NAME": "Oleg", "PHONE": phoneField("+79163333333"), "STATUS_SEMANTIC_ID": "P",
		"UF_CRM_PRIORITY": "45", "UF_BUDGET": "N"})

	ch, err := f.c.Pull(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	at := f.clock.Now()
	wantClients := []client.Client{
		{Phone: "+79163333333", Name: "Oleg", Category: client.CategoryB, Need: client.FlagUnknown, Budget: client.FlagNo, Urgency: client.FlagUnknown},
		{Phone: "+79161111111", Name: "Ivan Petrov", Category: client.CategoryA, Need: client.FlagUnknown, Budget: client.FlagUnknown, Urgency: client.FlagUnknown, Source: "yandex", Manager: "101"},
		{Phone: "+79162222222", Name: "Anna", Category: client.CategoryB, Need: client.FlagYes, Budget: client.FlagYes, Urgency: client.FlagNo, Source: "vk_ads"},
	}
	wantDeals := []deal.Deal{
		{ID: "L_7", Phone: "+79163333333", Stage: deal.StageOpen, CreatedAt: at},
		{ID: "D_4", Phone: "+79161111111", Stage: deal.StageWon, Amount: 4500050, Source: "yandex", Manager: "101", CreatedAt: at, ClosedAt: at.Add(48 * time.Hour)},
		{ID: "D_5", Phone: "+79162222222", Stage: deal.StageLost, Amount: 120000, LossReason: "too expensive", Source: "vk_ads", CreatedAt: at, ClosedAt: at},
	}
	if fmt.Sprint(ch.Clients) != fmt.Sprint(wantClients) {
		t.Errorf("clients:\n got %+v\nwant %+v", ch.Clients, wantClients)
	}
	if len(ch.Deals) != len(wantDeals) {
		t.Fatalf("deals: %+v", ch.Deals)
	}
	for i, d := range ch.Deals {
		w := wantDeals[i]
		if d.ID != w.ID || d.Phone != w.Phone || d.Stage != w.Stage || d.Amount != w.Amount || d.LossReason != w.LossReason ||
			d.Source != w.Source || d.Manager != w.Manager || !d.CreatedAt.Equal(w.CreatedAt) || !d.ClosedAt.Equal(w.ClosedAt) {
			t.Errorf("deal %d:\n got %+v\nwant %+v", i, d, w)
		}
	}
}
