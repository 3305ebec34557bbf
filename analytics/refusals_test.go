package analytics_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/callpulse/callpulse/analytics"
)

// TestRefusals runs on the funnel scenario (funnel_test.go). Lost deals of
// testdata/funnel and whether they count for 10–12 November:
//
//	deal  closed (Moscow)      reason              source (why)                 manager (why)
//	4     12 Nov 23:59:59      выбрали конкурента  avito (C4's first line)      unknown (no deal or client manager)
//	6     12 Nov 15:00         дорого              seo (the deal's)             102 → bob (the deal's; lost in the update file)
//	7     13 Nov 00:00:00      not in the period
//	7old  9 Nov 23:59:59       not in the period
//	8     11 Nov 00:00         unknown (empty)     yandex_direct (C8's line)    101 → alice (the deal's)
//	9b    12 Nov 10:00         дорого              vk_ads (C9's CSV source)     101 → alice (the client's)
//	12    11 Nov 00:00         дорого              vk_ads (C9's CSV source)     103 → alice (the deal's)
func TestRefusals(t *testing.T) {
	store, _ := funnelStore(t)
	team := analytics.NewTeam([]analytics.Manager{
		{ID: "alice", Name: "Алиса", Extensions: []string{"101", "103"}},
		{ID: "bob", Name: "Борис", Extensions: []string{"102"}},
	})
	tests := []struct {
		name     string
		from, to string
		want     []analytics.RefusalLine
	}{
		{"scenario period", "2026-11-10", "2026-11-12", []analytics.RefusalLine{
			{Reason: "дорого", Source: "vk_ads", Manager: "alice", Count: 2},
			{Reason: "unknown", Source: "yandex_direct", Manager: "alice", Count: 1},
			{Reason: "выбрали конкурента", Source: "avito", Manager: "unknown", Count: 1},
			{Reason: "дорого", Source: "seo", Manager: "bob", Count: 1},
		}},
		{"closed at 00:00:00 the day after", "2026-11-13", "2026-11-13", []analytics.RefusalLine{
			{Reason: "цена", Source: "yandex_direct", Manager: "unknown", Count: 1},
		}},
		{"closed at 23:59:59 the day before", "2026-11-09", "2026-11-09", []analytics.RefusalLine{
			{Reason: "цена", Source: "yandex_direct", Manager: "unknown", Count: 1},
		}},
		{"nothing", "2026-12-01", "2026-12-31", []analytics.RefusalLine{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := period(t, tt.from, tt.to)
			rows, err := store.Refusals(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			rep := analytics.BuildRefusalReport(p, rows, team)
			if rep.From != tt.from || rep.To != tt.to || rep.Timezone != "Europe/Moscow" {
				t.Errorf("report period = %s..%s %s", rep.From, rep.To, rep.Timezone)
			}
			if !reflect.DeepEqual(rep.Refusals, tt.want) {
				t.Errorf("refusals:\n got %+v\nwant %+v", rep.Refusals, tt.want)
			}
		})
	}
}

func TestBuildRefusalReportKeepsUnknownManagers(t *testing.T) {
	team := analytics.NewTeam([]analytics.Manager{{ID: "alice", Extensions: []string{"101"}}})
	rows := []analytics.RefusalRow{
		{Reason: "дорого", Source: "seo", Manager: "alice", Deals: 1}, // a manager id, as a CRM may give it
		{Reason: "дорого", Source: "seo", Manager: "101", Deals: 2},
		{Reason: "дорого", Source: "seo", Manager: "Иван (CRM)", Deals: 1},
	}
	got := analytics.BuildRefusalReport(period(t, "2026-11-10", "2026-11-10"), rows, team).Refusals
	want := []analytics.RefusalLine{
		{Reason: "дорого", Source: "seo", Manager: "alice", Count: 3},
		{Reason: "дорого", Source: "seo", Manager: "Иван (CRM)", Count: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("refusals:\n got %+v\nwant %+v", got, want)
	}
}
