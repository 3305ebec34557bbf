// Package analytics computes the numbers a sales director acts on from the
// call facts in ClickHouse. Every figure follows the definitions in the
// README ("What the numbers mean").
package analytics

import (
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Store runs analytics queries. Days are calendar days in loc.
type Store struct {
	conn    driver.Conn
	loc     *time.Location
	clients *keptRows[map[string]leadClient] // the funnel's and speed to lead's client rows, while their tables are unchanged
	deals   *keptRows[map[string]dealFacts]  // every phone's deal facts, while the deals are unchanged
}

// NewStore returns a Store over a ClickHouse connection whose default
// database holds callpulse's tables.
func NewStore(conn driver.Conn, loc *time.Location) *Store {
	return &Store{conn: conn, loc: loc,
		clients: newKeptRows(allClients, "clients", "client_categories"),
		deals:   newKeptRows(allDeals, "deals")}
}

// Location is the time zone that defines calendar days.
func (s *Store) Location() *time.Location { return s.loc }

// Period is an inclusive range of calendar days in the store's time zone.
type Period struct {
	From, To time.Time // midnights in the store's location
}

// ParsePeriod reads two YYYY-MM-DD dates (inclusive) in loc.
func ParsePeriod(from, to string, loc *time.Location) (Period, error) {
	f, err := time.ParseInLocation(time.DateOnly, from, loc)
	if err != nil {
		return Period{}, fmt.Errorf("from %q: want YYYY-MM-DD", from)
	}
	t, err := time.ParseInLocation(time.DateOnly, to, loc)
	if err != nil {
		return Period{}, fmt.Errorf("to %q: want YYYY-MM-DD", to)
	}
	if t.Before(f) {
		return Period{}, fmt.Errorf("to %s is before from %s", to, from)
	}
	if t.Sub(f) > 366*24*time.Hour {
		return Period{}, fmt.Errorf("period %s..%s is longer than a year", from, to)
	}
	return Period{From: f, To: t}, nil
}

// Day is the period of one calendar day containing t.
func Day(t time.Time, loc *time.Location) Period {
	t = t.In(loc)
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	return Period{From: d, To: d}
}

// bounds returns the half-open instant range [start, end) of the period.
func (p Period) bounds() (time.Time, time.Time) {
	end := time.Date(p.To.Year(), p.To.Month(), p.To.Day()+1, 0, 0, 0, 0, p.To.Location())
	return p.From.UTC(), end.UTC()
}
