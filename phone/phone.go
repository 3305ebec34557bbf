// Package phone normalises phone numbers to E.164 ("+79161234567").
package phone

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalid is returned for input that is not a valid phone number.
var ErrInvalid = errors.New("not a valid phone number")

// Normalizer turns numbers as PBXs and CRMs write them ("8 (916) 123-45-67",
// "79161234567", "+7 916 123 45 67") into E.164. Numbers without a country
// code are read in the default region.
type Normalizer struct {
	region string
	ru     bool // the default region is Russia: the national forms of fast apply

	mu    sync.Mutex
	cache map[string]string // input → E.164, valid numbers only
}

// NewNormalizer returns a Normalizer for a default region given as an ISO
// 3166-1 alpha-2 code ("RU").
func NewNormalizer(region string) (*Normalizer, error) {
	region = strings.ToUpper(region)
	if phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return nil, fmt.Errorf("default region %q: not an ISO 3166-1 alpha-2 region with a calling code", region)
	}
	return &Normalizer{region: region, ru: region == "RU", cache: map[string]string{}}, nil
}

// Normalize returns s in E.164 form, or an error wrapping ErrInvalid.
func (n *Normalizer) Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if v, ok := n.fast(s); ok {
		return v, nil
	}
	if v, ok := n.cached(s); ok {
		return v, nil
	}
	v, err := n.parse(s)
	if err == nil {
		n.remember(s, v)
	}
	return v, err
}

// cacheSize bounds the memo of normalised numbers. Parsing is the largest
// cost of a webhook (docs/performance.md); lines and returning clients
// repeat, so most numbers are seen again.
const cacheSize = 50_000

func (n *Normalizer) cached(s string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.cache[s]
	return v, ok
}

// remember adds a result to the memo, starting afresh when it is full
// (simpler than LRU and good enough for a working set far below the bound).
func (n *Normalizer) remember(s, v string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.cache) >= cacheSize {
		clear(n.cache)
	}
	n.cache[s] = v
}

// maxLen bounds the input: nothing longer is a phone number.
const maxLen = 64

// parse normalises through phonenumbers.Parse.
func (n *Normalizer) parse(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty: %w", ErrInvalid)
	}
	if len(s) > maxLen {
		return "", fmt.Errorf("longer than %d characters: %w", maxLen, ErrInvalid)
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
