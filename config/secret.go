package config

import (
	"encoding/json"
	"strconv"
)

const redacted = "<secret>"

// Secret is a string that must not be shown: it formats, and marshals to YAML
// and JSON, as "<secret>" (or as nothing when empty). Convert it with
// string(s) where the value itself is needed.
type Secret string

// String returns "<secret>", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns String quoted, so that %#v does not show the secret
// either.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
