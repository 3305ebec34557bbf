// Package deal defines a sales deal as callpulse stores it, whatever it
// came from: a CSV import today, a CRM pull (Bitrix24, amoCRM) later.
//
// It is a package of its own, not part of client, because a deal is a
// separate fact with its own lifecycle (open → won/lost) and its own
// identity (an id within the system it came from), read by the importer,
// the warehouse, analytics and the CRM pullers; client stays the grading of
// a phone number.
package deal

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Stage is where a deal is in its lifecycle.
type Stage string

// Stages. A deal is open until it is won or lost; closed deals have a close
// time.
const (
	StageOpen Stage = "open"
	StageWon  Stage = "won"
	StageLost Stage = "lost"
)

// ParseStage accepts open, won or lost in any case.
func ParseStage(s string) (Stage, error) {
	switch st := Stage(strings.ToLower(strings.TrimSpace(s))); st {
	case StageOpen, StageWon, StageLost:
		return st, nil
	}
	return "", fmt.Errorf("stage %q: want open, won or lost", s)
}

// Deal is one deal with a client.
type Deal struct {
	// ID identifies the deal within the system it came from (its origin):
	// two CRMs may both have a deal "123".
	ID string
	// Phone is the client's phone in E.164; deals are tied to clients by it.
	Phone  string
	Stage  Stage
	Amount Amount
	// LossReason is why a lost deal was lost (the CRM's refusal reason);
	// empty for open and won deals, possibly empty for lost ones.
	LossReason string
	// Source is the ad source the CRM credits the deal to; empty if unknown.
	Source string
	// Manager is the responsible manager (a PBX extension or a manager id
	// from the config); empty if unknown.
	Manager   string
	CreatedAt time.Time
	// ClosedAt is when the deal was won or lost; zero while it is open.
	ClosedAt time.Time
}

// Limits of what is stored. Times outside [MinTime, MaxTime) are almost
// certainly spreadsheet accidents (a "01.01.1900"), and ClickHouse's
// DateTime cannot hold them anyway.
var (
	MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Length limits, in bytes.
const (
	MaxIDLen         = 128
	MaxLossReasonLen = 512
	MaxSourceLen     = 64
	MaxManagerLen    = 64
)

// FieldError is a deal that breaks a rule, naming the offending field by
// its column name (deal_id, phone, stage, amount, loss_reason, source,
// manager, created_at, closed_at).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

var (
	e164       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	sourceSlug = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)
)

// Validate checks the rules every stored deal keeps:
//
//   - ID is not empty, at most MaxIDLen bytes, without control characters;
//   - Phone is E.164; Stage is open, won or lost;
//   - Amount is between 0 and MaxAmount;
//   - CreatedAt is set; ClosedAt is set for won and lost deals and zero for
//     open ones, and not before CreatedAt; both in [MinTime, MaxTime);
//   - LossReason is empty unless the deal is lost;
//   - Source, if set, is a lowercase slug (as in the clients file).
//
// It reports the first broken rule as a *FieldError. Error messages never
// contain the phone number.
func (d Deal) Validate() error {
	fail := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case d.ID == "":
		return fail("deal_id", "empty")
	case len(d.ID) > MaxIDLen:
		return fail("deal_id", "longer than %d bytes", MaxIDLen)
	case strings.ContainsFunc(d.ID, unicode.IsControl):
		return fail("deal_id", "contains control characters")
	case !e164.MatchString(d.Phone):
		return fail("phone", "not an E.164 number")
	}
	switch d.Stage {
	case StageOpen, StageWon, StageLost:
	default:
		return fail("stage", "%q: want open, won or lost", d.Stage)
	}
	if d.Amount < 0 || d.Amount > MaxAmount {
		return fail("amount", "%s: want 0 to %s", d.Amount, MaxAmount)
	}
	if err := checkTime(d.CreatedAt); err != nil {
		return fail("created_at", "%v", err)
	}
	if d.Stage == StageOpen {
		if !d.ClosedAt.IsZero() {
			return fail("closed_at", "an open deal has no close time")
		}
	} else {
		if err := checkTime(d.ClosedAt); err != nil {
			return fail("closed_at", "a %s deal needs a close time: %v", d.Stage, err)
		}
		if d.ClosedAt.Before(d.CreatedAt) {
			return fail("closed_at", "before created_at")
		}
	}
	switch {
	case d.LossReason != "" && d.Stage != StageLost:
		return fail("loss_reason", "only a lost deal has a loss reason")
	case len(d.LossReason) > MaxLossReasonLen:
		return fail("loss_reason", "longer than %d bytes", MaxLossReasonLen)
	case d.Source != "" && !sourceSlug.MatchString(d.Source):
		return fail("source", "%q: want lowercase letters, digits, _ . - (at most %d)", d.Source, MaxSourceLen)
	case len(d.Manager) > MaxManagerLen:
		return fail("manager", "longer than %d bytes", MaxManagerLen)
	}
	return nil
}

func checkTime(t time.Time) error {
	switch {
	case t.IsZero():
		return fmt.Errorf("missing")
	case t.Before(MinTime) || !t.Before(MaxTime):
		return fmt.Errorf("%s is outside %d–%d", t.Format(time.DateOnly), MinTime.Year(), MaxTime.Year()-1)
	}
	return nil
}
