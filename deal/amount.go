package deal

import (
	"fmt"
	"strconv"
	"strings"
)

// Amount is money in minor units (kopecks, cents): exact, never a float.
// Deals carry no currency; callpulse assumes one currency per installation.
type Amount int64

// MaxAmount is the largest amount accepted: just under a trillion in major
// units, far beyond any deal and well inside ClickHouse's Decimal(18, 2), so
// sums of millions of deals cannot overflow an int64.
const MaxAmount Amount = 1e14 - 1

// ParseAmount reads a non-negative amount with at most two decimals, as
// people and spreadsheets write it:
//
//	45000   45000.5   45000.50   45000,50   45 000,50   1 234 567.89
//
// The decimal separator is "." or ","; digits may be grouped by three with
// spaces (also the no-break and thin spaces Excel uses). Anything else is
// rejected rather than guessed: "45,000" (three decimals: a thousands
// comma?), "45.000,50" (two kinds of separator), signs, currency symbols.
func ParseAmount(s string) (Amount, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty amount")
	}
	if s[0] == '-' {
		return 0, fmt.Errorf("amount %q: must not be negative", s)
	}
	intPart, frac := s, ""
	if i := strings.IndexAny(s, ".,"); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
		if strings.ContainsAny(frac, ".,") {
			return 0, fmt.Errorf("amount %q: use one decimal separator (. or ,) and spaces between thousands", s)
		}
		if frac == "" || len(frac) > 2 || !allDigits(frac) {
			return 0, fmt.Errorf("amount %q: want one or two digits after the decimal separator", s)
		}
	}
	digits, err := ungroup(intPart)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(digits+frac, 10, 64)
	if err != nil || Amount(n) > MaxAmount {
		return 0, fmt.Errorf("amount %q: more than %s", s, MaxAmount)
	}
	return Amount(n), nil
}

// ungroup returns the digits of an integer part, allowing groups of three
// separated by single spaces: "1 234 567".
func ungroup(s string) (string, error) {
	groups := strings.FieldsFunc(s, isGroupSpace)
	if len(groups) == 0 {
		return "", fmt.Errorf("want digits before the decimal separator")
	}
	seps := 0
	for _, r := range s {
		if isGroupSpace(r) {
			seps++
		}
	}
	for _, g := range groups {
		if !allDigits(g) {
			return "", fmt.Errorf("want digits, a decimal separator and spaces between thousands")
		}
	}
	for i, g := range groups {
		if len(groups) > 1 && (i == 0 && len(g) > 3 || i > 0 && len(g) != 3) || seps != len(groups)-1 {
			return "", fmt.Errorf("digits grouped oddly: want groups of three with one space between")
		}
	}
	return strings.Join(groups, ""), nil
}

func isGroupSpace(r rune) bool {
	return r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\u2009'
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// String formats the amount with two decimals and "." as the separator:
// "45000.50".
func (a Amount) String() string {
	sign := ""
	n := int64(a)
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
}

// MarshalJSON writes the amount as a JSON number with exactly two decimals
// (45000.50), produced from the integer minor units, so no float rounding
// ever happens on this side. Clients that need exact sums should decode it
// as a decimal (e.g. json.Number), not a float.
func (a Amount) MarshalJSON() ([]byte, error) {
	return []byte(a.String()), nil
}
