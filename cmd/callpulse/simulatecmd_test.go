package main

import (
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/simulate"
)

// TestSimulatedDealsReadBack checks that the deals --write-deals writes
// come back from the file whole through the importer's reading, which
// --deals uses so that the touches follow the deals as imported.
func TestSimulatedDealsReadBack(t *testing.T) {
	cfg := config.Default()
	loc := cfg.Location()
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	deals := simulate.Deals(7, simulate.Clients(7, 300, []string{"101", "102"}), from, from.Add(17*time.Hour))
	path := filepath.Join(t.TempDir(), "deals.csv")
	if err := writeFile(path, func(w io.Writer) error { return simulate.WriteDealsCSV(w, deals) }); err != nil {
		t.Fatal(err)
	}
	back, err := readDeals(path, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(deals) || len(deals) == 0 {
		t.Fatalf("read back %d deals of %d", len(back), len(deals))
	}
	for i, d := range deals {
		b := back[i]
		if !b.CreatedAt.Equal(d.CreatedAt) || !b.ClosedAt.Equal(d.ClosedAt) {
			t.Errorf("deal %s: times %v, %v; want %v, %v", d.ID, b.CreatedAt, b.ClosedAt, d.CreatedAt, d.ClosedAt)
		}
		b.CreatedAt, b.ClosedAt, d.CreatedAt, d.ClosedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if b != d {
			t.Errorf("deal read back as %+v, want %+v", b, d)
		}
	}
}
