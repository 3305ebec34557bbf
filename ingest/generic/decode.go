package generic

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Decoding a snapshot. The contract is encoding/json's, strict: unknown
// fields and values of the wrong type are refused, with the errors
// decodeError turns into a field and a reason. That decoder was a tenth of
// a webhook's cost (docs/performance.md), almost all of it spent on
// snapshots it accepts, which look alike: one object of the known keys
// with string or null values. decodePlain reads exactly those, and
// anything else — escapes, other keys or spellings of them, other value
// types, syntax errors, trailing data — goes to encoding/json, so every
// refusal, and every result, is what encoding/json makes of the snapshot.

// decodeItem decodes one snapshot strictly.
func decodeItem(raw []byte) (*item, error) {
	if it, ok := decodePlain(raw); ok {
		return it, nil
	}
	it := new(item)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(it); err != nil {
		return nil, err
	}
	return it, nil
}

// plainItem is an item whose strings are held alongside, so that a decoded
// snapshot costs two allocations.
type plainItem struct {
	item
	values [10]string
}

// decodePlain decodes raw if it is one JSON object, surrounded by white
// space only, whose keys are field names of item, each spelt exactly, and
// whose values are null or strings of valid UTF-8 without escapes or
// control characters. It reports false for anything else; raw may still be
// a snapshot encoding/json accepts.
func decodePlain(raw []byte) (*item, bool) {
	p := new(plainItem)
	s := string(raw) // the values are substrings of one copy
	i := skipSpace(s, 0)
	if i == len(s) || s[i] != '{' {
		return nil, false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return &p.item, skipSpace(s, i+1) == len(s)
	}
	for n := 0; ; n++ {
		key, j, ok := plainString(s, i)
		if !ok {
			return nil, false
		}
		field, slot := p.field(key)
		if field == nil {
			return nil, false
		}
		if i = skipSpace(s, j); i == len(s) || s[i] != ':' {
			return nil, false
		}
		i = skipSpace(s, i+1)
		if len(s)-i >= 4 && s[i:i+4] == "null" {
			*field, i = nil, i+4
		} else {
			v, j, ok := plainString(s, i)
			if !ok {
				return nil, false
			}
			p.values[slot], i = v, j
			*field = &p.values[slot]
		}
		if i = skipSpace(s, i); i == len(s) {
			return nil, false
		}
		switch s[i] {
		case ',':
			i = skipSpace(s, i+1)
		case '}':
			return &p.item, skipSpace(s, i+1) == len(s)
		default:
			return nil, false
		}
	}
}

// field is the pointer of the item field named key, and the index of its
// value in values; nil if key is not a field name as spelt in its tag.
func (p *plainItem) field(key string) (**string, int) {
	switch key {
	case "call_id":
		return &p.CallID, 0
	case "direction":
		return &p.Direction, 1
	case "started_at":
		return &p.StartedAt, 2
	case "answered_at":
		return &p.AnsweredAt, 3
	case "ended_at":
		return &p.EndedAt, 4
	case "client_phone":
		return &p.ClientPhone, 5
	case "line_phone":
		return &p.LinePhone, 6
	case "manager":
		return &p.Manager, 7
	case "status":
		return &p.Status, 8
	case "recording_url":
		return &p.RecordingURL, 9
	}
	return nil, 0
}

// plainString reads the JSON string starting at s[i] if it has no escapes
// and no control characters and is valid UTF-8, and returns its content and
// the index after its closing quote.
func plainString(s string, i int) (string, int, bool) {
	if i == len(s) || s[i] != '"' {
		return "", 0, false
	}
	ascii := true
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			v := s[i+1 : j]
			if !ascii && !utf8.ValidString(v) {
				return "", 0, false
			}
			return v, j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", 0, false
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
