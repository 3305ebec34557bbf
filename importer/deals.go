package importer

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/callpulse/callpulse/deal"
)

// DealColumns are the columns of a deals file. deal_id, phone, stage and
// created_at are required; source and manager are optional extras (the
// ad source the CRM credits the deal to, the responsible manager's
// extension or id) for exports that have them.
var DealColumns = []string{"deal_id", "phone", "stage", "amount", "loss_reason", "created_at", "closed_at", "source", "manager"}

var dealRequired = []string{"deal_id", "phone", "stage", "created_at"}

// dateLayouts are the accepted forms of created_at and closed_at without a
// UTC offset; they are read as local time in the configured time zone. A
// bare date means midnight. RFC 3339 (with an offset or Z) is accepted too
// and keeps its offset.
var dateLayouts = []string{
	time.DateOnly,         // 2026-11-20
	"2006-01-02 15:04:05", // 2026-11-20 09:15:00
	"2006-01-02 15:04",    // 2026-11-20 09:15
	"2006-01-02T15:04:05", // 2026-11-20T09:15:00
	"02.01.2006",          // 20.11.2026 (Excel, Russian locale)
	"02.01.2006 15:04:05", // 20.11.2026 09:15:00
	"02.01.2006 15:04",    // 20.11.2026 09:15
}

// ReadDeals parses and checks a deals file. Phones are normalised to
// E.164; stage is open, won or lost; amount is a non-negative decimal with
// at most two decimals (deal.ParseAmount: "45000", "45000.50",
// "45 000,50"), empty meaning 0; dates are YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS]
// or DD.MM.YYYY [HH:MM[:SS]] in loc, or RFC 3339. Every deal must pass
// deal.Deal.Validate: closed_at is required for won and lost deals and
// forbidden for open ones, loss_reason is for lost deals only. A deal_id
// that appears twice is an error. On any problem it returns a *FileError
// listing every bad row, and no deals. loc is the configured time zone and
// must not be nil.
func ReadDeals(in io.Reader, norm Normalizer, loc *time.Location) ([]deal.Deal, error) {
	if loc == nil {
		return nil, errors.New("read deals: no time zone given")
	}
	t, err := readTable(in, DealColumns, dealRequired)
	if err != nil {
		return nil, err
	}
	var (
		out    []deal.Deal
		bad    []RowError
		seenAt = map[string]int{}
	)
	for _, r := range t.rows {
		d, errs := parseDeal(t, r, norm, loc)
		if len(errs) > 0 {
			bad = append(bad, errs...)
			continue
		}
		if first, dup := seenAt[d.ID]; dup {
			bad = append(bad, RowError{Line: r.line, Column: "deal_id", Msg: fmt.Sprintf("same deal as line %d", first)})
			continue
		}
		seenAt[d.ID] = r.line
		out = append(out, d)
	}
	if len(bad) > 0 {
		return nil, &FileError{Rows: bad}
	}
	return out, nil
}

// parseDeal reads one row: first each column on its own, then, if they all
// parsed, the rules between them (deal.Deal.Validate).
func parseDeal(t *table, r row, norm Normalizer, loc *time.Location) (deal.Deal, []RowError) {
	var bad []RowError
	fail := func(col string, err error) { bad = append(bad, RowError{Line: r.line, Column: col, Msg: err.Error()}) }
	d := deal.Deal{
		ID:         t.get(r, "deal_id"),
		LossReason: t.get(r, "loss_reason"),
		Source:     t.get(r, "source"),
		Manager:    t.get(r, "manager"),
	}
	var err error
	if d.Phone, err = norm.Normalize(t.get(r, "phone")); err != nil {
		fail("phone", err)
	}
	if d.Stage, err = deal.ParseStage(t.get(r, "stage")); err != nil {
		fail("stage", err)
	}
	if s := t.get(r, "amount"); s != "" {
		if d.Amount, err = deal.ParseAmount(s); err != nil {
			fail("amount", err)
		}
	}
	if d.CreatedAt, err = parseTime(t.get(r, "created_at"), loc); err != nil {
		fail("created_at", err)
	}
	if s := t.get(r, "closed_at"); s != "" {
		if d.ClosedAt, err = parseTime(s, loc); err != nil {
			fail("closed_at", err)
		}
	}
	if len(bad) > 0 {
		return deal.Deal{}, bad
	}
	if err := d.Validate(); err != nil {
		col := ""
		var fe *deal.FieldError
		if errors.As(err, &fe) {
			col, err = fe.Field, errors.New(fe.Msg)
		}
		fail(col, err)
		return deal.Deal{}, bad
	}
	return d, nil
}

// parseTime reads a date or date-time (see dateLayouts) and returns it in
// UTC.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("missing")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS], DD.MM.YYYY [HH:MM[:SS]] or RFC 3339", s)
}
