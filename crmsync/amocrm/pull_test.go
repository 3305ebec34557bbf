package amocrm_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/amocrm"
	"github.com/callpulse/callpulse/crmsync/amocrm/amocrmtest"
	"github.com/callpulse/callpulse/deal"
	"github.com/callpulse/callpulse/phone"
)

var pullBase = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).Unix()

// pullOptions is the mapping of the seeded account: Priority AAA/BB/C →
// A/B/C, source from UTM_SOURCE, managers by user id.
func pullOptions(t *testing.T) amocrm.Options {
	t.Helper()
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	return amocrm.Options{
		Normalizer: norm,
		Pull: amocrm.PullOptions{
			CategoryField:  "Priority",
			CategoryValues: map[string]client.Category{"AAA": client.CategoryA, "BB": client.CategoryB},
			NeedField:      "need", BudgetField: "budget", UrgencyField: "urgency",
			SourceField: "UTM_SOURCE",
			Managers:    map[string]string{"6543210": "101"},
		},
	}
}

// seed adds n leads, each with its own contact: lead i has phone
// +7916100xxxx, status won (i%3==0), lost "Дорого" (i%3==1) or open,
// price 1000+i, Priority AAA/BB/C by i%3, except every 10th lead, which is
// graded by need/budget/urgency instead; updated_at = base + i.
func seed(srv *amocrmtest.Server, n int) []int64 {
	ids := make([]int64, n)
	for i := range n {
		cid := srv.AddContact(fmt.Sprintf("Client %d", i), fmt.Sprintf("8 (916) 100-%02d-%02d", i/100, i%100))
		l := amocrmtest.Lead{
			Name: fmt.Sprintf("Lead %d", i), Price: int64(1000 + i), ResponsibleUserID: 6543210, PipelineID: 7001,
			StatusID: 10, CreatedAt: pullBase - 86400, UpdatedAt: pullBase + int64(i), ContactIDs: []int64{cid},
			Fields: map[string]string{"Priority": []string{"AAA", "BB", "C"}[i%3], "utm_source": "Yandex Direct"},
		}
		if i%10 == 0 {
			l.Fields = map[string]string{"need": "да", "budget": "да", "urgency": "нет", "utm_source": "google"}
		}
		switch i % 3 {
		case 0:
			l.StatusID, l.ClosedAt = 142, pullBase+int64(i)
		case 1:
			l.StatusID, l.ClosedAt, l.LossReason = 143, pullBase+int64(i), "Дорого"
		}
		ids[i] = srv.PutLead(l)
	}
	return ids
}

type memWatermarks struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (w *memWatermarks) Watermark(crm string) (time.Time, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.m[crm], nil
}

func (w *memWatermarks) SetWatermark(crm string, t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.m[crm] = t
	return nil
}

type memWarehouse struct {
	clients []client.Client
	deals   []deal.Deal
}

func (m *memWarehouse) UpsertClients(_ context.Context, cs []client.Client, origin string, _ time.Time) error {
	m.clients = cs
	return nil
}

func (m *memWarehouse) UpsertDeals(_ context.Context, ds []deal.Deal, origin string, _ time.Time) error {
	m.deals = ds
	return nil
}

func wantLead(t *testing.T, i int, c client.Client, d deal.Deal) {
	t.Helper()
	wantCat := []client.Category{client.CategoryA, client.CategoryB, client.CategoryC}[i%3]
	wantSrc := "yandex_direct"
	if i%10 == 0 {
		wantCat, wantSrc = client.CategoryB, "google" // need+budget, not urgent
	}
	wantStage := []deal.Stage{deal.StageWon, deal.StageLost, deal.StageOpen}[i%3]
	if c.Category != wantCat || c.Source != wantSrc || c.Manager != "101" {
		t.Errorf("lead %d: client %+v, want category %s source %s manager 101", i, c, wantCat, wantSrc)
	}
	if d.Stage != wantStage || d.Amount != deal.Amount(1000+i)*100 || d.Source != wantSrc {
		t.Errorf("lead %d: deal %+v, want stage %s amount %d", i, d, wantStage, 1000+i)
	}
	if wantStage == deal.StageLost && d.LossReason != "Дорого" {
		t.Errorf("lead %d: loss reason %q, want Дорого", i, d.LossReason)
	}
}

func TestPullPagesAndMapsThenFetchesOnlyChanges(t *testing.T) {
	ctx := context.Background()
	c, srv := newPair(t, pullOptions(t))
	ids := seed(srv, 600)
	wh, wm := &memWarehouse{}, &memWatermarks{m: map[string]time.Time{}}
	sy, err := crmsync.NewSyncer(crmsync.SyncOptions{Name: "amocrm", Puller: c, Warehouse: wh, Watermarks: wm})
	if err != nil {
		t.Fatal(err)
	}
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	if len(wh.deals) != 600 || len(wh.clients) != 600 {
		t.Fatalf("first sync: %d deals, %d clients, want 600 each", len(wh.deals), len(wh.clients))
	}
	byID := map[string]int{}
	for i, id := range ids {
		byID[fmt.Sprint(id)] = i
	}
	for k, d := range wh.deals {
		wantLead(t, byID[d.ID], wh.clients[k], d)
	}
	var pages []string
	for _, r := range srv.Log() {
		if r.Path == "/api/v4/leads" {
			pages = append(pages, r.Query)
		}
	}
	if len(pages) != 3 || !strings.Contains(pages[2], "page=3") || !strings.Contains(pages[0], "limit=250") ||
		!strings.Contains(pages[0], "with=loss_reason%2Ccontacts") {
		t.Fatalf("lead requests = %q, want pages 1..3 of 250 with loss_reason,contacts", pages)
	}
	if got, _ := wm.Watermark("amocrm"); !got.Equal(time.Unix(pullBase+599, 0)) {
		t.Fatalf("watermark = %v, want the last updated_at", got)
	}

	// Two leads change; the second sync reads only them and the boundary second.
	srv.PutLead(amocrmtest.Lead{ID: ids[5], Name: "Lead 5", Price: 9000, ResponsibleUserID: 6543210, StatusID: 142,
		CreatedAt: pullBase - 86400, UpdatedAt: pullBase + 1000, ClosedAt: pullBase + 1000, ContactIDs: contactOf(t, srv, ids[5]),
		Fields: map[string]string{"Priority": "AAA", "utm_source": "avito"}})
	srv.PutLead(amocrmtest.Lead{ID: ids[7], Name: "Lead 7", Price: 10, ResponsibleUserID: 1, StatusID: 143, LossReason: "Не дозвонились",
		CreatedAt: pullBase - 86400, UpdatedAt: pullBase + 1001, ClosedAt: pullBase + 1001, ContactIDs: contactOf(t, srv, ids[7]),
		Fields: map[string]string{"Priority": "C"}})
	if err := sy.SyncOnce(ctx); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	var got []string
	for _, d := range wh.deals {
		got = append(got, d.ID)
	}
	slices.Sort(got)
	want := []string{fmt.Sprint(ids[5]), fmt.Sprint(ids[7]), fmt.Sprint(ids[599])}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("second sync deals = %v, want only the changed %v (and the boundary lead)", got, want)
	}
	for _, d := range wh.deals {
		if d.ID == fmt.Sprint(ids[7]) && (d.Stage != deal.StageLost || d.LossReason != "Не дозвонились" || d.Manager != "") {
			t.Errorf("changed lead 7: %+v", d)
		}
	}
}

func contactOf(t *testing.T, srv *amocrmtest.Server, leadID int64) []int64 {
	t.Helper()
	return srv.ContactIDs(leadID)
}
