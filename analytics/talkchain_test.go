package analytics

import (
	"slices"
	"testing"
	"time"

	"github.com/callpulse/callpulse/client"
)

func TestPickHead(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 11, 20, 10, min, 0, 0, time.UTC) }
	root := func(id uint64, min int) refreshMarker { return refreshMarker{epoch: id, id: id, cutoff: at(min)} }
	delta := func(epoch, id, base uint64, min int) refreshMarker {
		return refreshMarker{epoch: epoch, id: id, base: base, cutoff: at(min)}
	}
	tests := []struct {
		name      string
		markers   []refreshMarker
		wantHead  uint64
		wantChain []uint64
	}{
		{name: "none"},
		{name: "a root", markers: []refreshMarker{root(10, 0)}, wantHead: 10, wantChain: []uint64{10}},
		{
			name:      "deltas on a root",
			markers:   []refreshMarker{root(10, 0), delta(10, 11, 10, 1), delta(10, 12, 11, 2)},
			wantHead:  12,
			wantChain: []uint64{12, 11, 10},
		},
		{
			name: "two refreshers forked: the later cutoff wins, the sibling is not on the chain",
			markers: []refreshMarker{root(10, 0), delta(10, 11, 10, 1), delta(10, 13, 10, 2),
				delta(10, 12, 11, 1)},
			wantHead:  13,
			wantChain: []uint64{13, 10},
		},
		{
			name:      "same cutoff: the smaller id wins",
			markers:   []refreshMarker{root(10, 0), delta(10, 14, 10, 1), delta(10, 12, 10, 1)},
			wantHead:  12,
			wantChain: []uint64{12, 10},
		},
		{
			name:      "a broken chain (base missing) is skipped",
			markers:   []refreshMarker{root(10, 0), delta(10, 11, 10, 1), delta(10, 13, 99, 5)},
			wantHead:  11,
			wantChain: []uint64{11, 10},
		},
		{
			name:      "a chain may not cross epochs",
			markers:   []refreshMarker{root(10, 0), root(20, 1), delta(20, 21, 10, 3), delta(20, 22, 20, 2)},
			wantHead:  22,
			wantChain: []uint64{22, 20},
		},
		{
			name:      "a newer root starts a new chain",
			markers:   []refreshMarker{root(10, 0), delta(10, 11, 10, 1), root(20, 2)},
			wantHead:  20,
			wantChain: []uint64{20},
		},
		{
			name:      "a cycle is not a chain",
			markers:   []refreshMarker{root(10, 0), delta(10, 11, 12, 5), delta(10, 12, 11, 4)},
			wantHead:  10,
			wantChain: []uint64{10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head, chain, ok := pickHead(tt.markers)
			var ids []uint64
			for _, m := range chain {
				ids = append(ids, m.id)
			}
			if ok != (tt.wantHead != 0) || head.id != tt.wantHead || !slices.Equal(ids, tt.wantChain) {
				t.Errorf("pickHead = %d %v %v, want %d %v", head.id, ids, ok, tt.wantHead, tt.wantChain)
			}
		})
	}
}

func TestChainHasDays(t *testing.T) {
	m := func(zone string) refreshMarker { return refreshMarker{zone: zone} }
	tests := []struct {
		chain snapshotChain
		zone  string
		want  bool
	}{
		{snapshotChain{m("Europe/Moscow"), m("Europe/Moscow")}, "Europe/Moscow", true},
		{snapshotChain{m("Europe/Moscow"), m("")}, "Europe/Moscow", false},
		{snapshotChain{m("Europe/Moscow")}, "Asia/Kolkata", false},
		{snapshotChain{m(""), m("")}, "", false},
		{nil, "Europe/Moscow", false},
	}
	for _, tt := range tests {
		if got := tt.chain.hasDays(tt.zone); got != tt.want {
			t.Errorf("%v.hasDays(%q) = %v, want %v", tt.chain, tt.zone, got, tt.want)
		}
	}
}

func TestCategoryAt(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	row := func(from int, cat client.Category, recorded, arrived int) gradeRow {
		return gradeRow{validFrom: day(from), category: cat, recordedAt: day(recorded), at: day(arrived)}
	}
	h := gradeHistory{
		row(10, client.CategoryC, 10, 10),
		row(15, client.CategoryB, 15, 15),
		row(15, client.CategoryA, 16, 16), // same valid_from, recorded later: wins
		row(20, client.CategoryC, 20, 25), // arrived late
	}
	tests := []struct {
		name   string
		h      gradeHistory
		t      time.Time
		cutoff time.Time
		want   client.Category
	}{
		{"no history", nil, day(12), time.Time{}, client.CategoryUnknown},
		{"before the first row: the first", h, day(5), time.Time{}, client.CategoryC},
		{"on valid_from", h, day(10), time.Time{}, client.CategoryC},
		{"latest at or before", h, day(17), time.Time{}, client.CategoryA},
		{"newest recorded_at of a valid_from", h, day(15), time.Time{}, client.CategoryA},
		{"as of a cutoff before the re-grade arrived", h, day(17), day(16), client.CategoryB},
		{"as of a cutoff before the late row arrived", h, day(21), day(22), client.CategoryA},
		{"all of it", h, day(21), time.Time{}, client.CategoryC},
		{"as of a cutoff before any row", h, day(21), day(1), client.CategoryUnknown},
		{
			"a tie on recorded_at: the larger category",
			gradeHistory{row(10, client.CategoryB, 10, 10), row(10, client.CategoryC, 10, 11), row(10, client.CategoryA, 10, 12)},
			day(12), time.Time{}, client.CategoryC,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.categoryAt(tt.t, tt.cutoff); got != tt.want {
				t.Errorf("categoryAt(%s, cutoff %s) = %s, want %s", tt.t.Format(time.DateOnly), tt.cutoff.Format(time.DateOnly), got, tt.want)
			}
		})
	}
}

func TestQuarterHourDays(t *testing.T) {
	tests := []struct {
		zone string
		want bool
	}{
		{"Europe/Moscow", true},
		{"Asia/Kolkata", true},   // +5:30
		{"Asia/Kathmandu", true}, // +5:45
		{"Europe/Berlin", true},  // a DST change in the period
		{"Africa/Monrovia", true},
	}
	for _, tt := range tests {
		loc, err := time.LoadLocation(tt.zone)
		if err != nil {
			t.Fatal(err)
		}
		p := Period{From: time.Date(2026, 10, 20, 0, 0, 0, 0, loc), To: time.Date(2026, 10, 30, 0, 0, 0, 0, loc)}
		if got := quarterHourDays(p); got != tt.want {
			t.Errorf("%s: quarterHourDays = %v, want %v", tt.zone, got, tt.want)
		}
	}
	// Monrovia was UTC−0:44:30 until 1972: its days then did not start on
	// a quarter hour, so talk time of those days is folded from calls_agg.
	loc, _ := time.LoadLocation("Africa/Monrovia")
	old := Period{From: time.Date(1971, 5, 1, 0, 0, 0, 0, loc), To: time.Date(1971, 5, 2, 0, 0, 0, 0, loc)}
	if quarterHourDays(old) {
		t.Error("Africa/Monrovia 1971: quarterHourDays = true, want false")
	}
}
