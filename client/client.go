// Package client defines a sales client and the A/B/C grading rule.
package client

import (
	"fmt"
	"strings"
)

// Category grades a client by how much phone time they deserve.
type Category string

// Categories. Target shares of talk time are configured per category.
const (
	CategoryUnknown Category = "unknown"
	CategoryA       Category = "A" // need + budget + urgency
	CategoryB       Category = "B" // need + budget, not urgent
	CategoryC       Category = "C" // no budget
)

// Categories lists every category in report order.
func Categories() []Category {
	return []Category{CategoryA, CategoryB, CategoryC, CategoryUnknown}
}

// Known reports whether c is A, B or C.
func (c Category) Known() bool {
	return c == CategoryA || c == CategoryB || c == CategoryC
}

// ParseCategory accepts A, B, C (any case) or empty/"unknown".
func ParseCategory(s string) (Category, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "A":
		return CategoryA, nil
	case "B":
		return CategoryB, nil
	case "C":
		return CategoryC, nil
	case "", "UNKNOWN":
		return CategoryUnknown, nil
	}
	return CategoryUnknown, fmt.Errorf("category %q: want A, B, C or empty", s)
}

// Flag is a yes/no answer that may be unknown.
type Flag string

// Flags.
const (
	FlagUnknown Flag = "unknown"
	FlagNo      Flag = "no"
	FlagYes     Flag = "yes"
)

// ParseFlag accepts yes/no (also да/нет, true/false, 1/0, y/n) or empty.
func ParseFlag(s string) (Flag, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "true", "1", "да":
		return FlagYes, nil
	case "no", "n", "false", "0", "нет":
		return FlagNo, nil
	case "", "unknown":
		return FlagUnknown, nil
	}
	return FlagUnknown, fmt.Errorf("%q: want yes, no or empty", s)
}

// Derive grades a client from what the manager learned:
//
//	no budget                       → C (need and urgency do not matter)
//	need + budget + urgency         → A
//	need + budget, urgency "no"     → B
//	anything else                   → unknown (not yet qualified)
func Derive(need, budget, urgency Flag) Category {
	switch {
	case budget == FlagNo:
		return CategoryC
	case need == FlagYes && budget == FlagYes && urgency == FlagYes:
		return CategoryA
	case need == FlagYes && budget == FlagYes && urgency == FlagNo:
		return CategoryB
	}
	return CategoryUnknown
}

// Client is what callpulse knows about one client, keyed by E.164 phone.
type Client struct {
	Phone    string
	Name     string
	Category Category
	Need     Flag
	Budget   Flag
	Urgency  Flag
	// Source is the ad source the client came from (empty = unknown; the
	// line the client called is used then).
	Source string
	// Manager is the responsible manager's PBX extension.
	Manager string
}
