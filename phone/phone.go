// Package phone normalises phone numbers to E.164 ("+79161234567").
package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalid is returned for input that is not a valid phone number.
var ErrInvalid = errors.New("not a valid phone number")

// Normalizer turns numbers as PBXs and CRMs write them ("8 (916) 123-45-67",
// "79161234567", "+7 916 123 45 67") into E.164. Numbers without a country
// code are read in the default region.
type Normalizer struct {
	region string
}

// NewNormalizer returns a Normalizer for a default region given as an ISO
// 3166-1 alpha-2 code ("RU").
func NewNormalizer(region string) (*Normalizer, error) {
	region = strings.ToUpper(region)
	if phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return nil, fmt.Errorf("default region %q: not an ISO 3166-1 alpha-2 region with a calling code", region)
	}
	return &Normalizer{region: region}, nil
}

// Normalize returns s in E.164 form, or an error wrapping ErrInvalid.
func (n *Normalizer) Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty: %w", ErrInvalid)
	}
	if len(s) > 64 {
		return "", fmt.Errorf("longer than 64 characters: %w", ErrInvalid)
	}
	num, err := phonenumbers.Parse(s, n.region)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	if !phonenumbers.IsPossibleNumber(num) {
		return "", fmt.Errorf("wrong length for its country: %w", ErrInvalid)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}
