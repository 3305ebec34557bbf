package scoring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/callpulse/callpulse/deal"
	"github.com/callpulse/callpulse/warehouse"
)

// Limits of a touches request.
const (
	// MaxTouches is the most touches one request may carry.
	MaxTouches = 1000
	// MaxTouchIDLen, MaxLeadIDLen and MaxUTMSourceLen bound those fields,
	// in bytes.
	MaxTouchIDLen   = 200
	MaxLeadIDLen    = deal.MaxIDLen
	MaxUTMSourceLen = 128
	// MaxFuture is how far ahead of the server's clock a touch's time may
	// be (clock skew); later times are refused as mistakes.
	MaxFuture = 24 * time.Hour
)

// Normalizer turns a phone number into E.164 (phone.Normalizer).
type Normalizer interface {
	Normalize(string) (string, error)
}

// InputError is a touches request that the sender must fix: the whole
// request is refused with 400. Field is the offending field ("[2].at"), if
// any. The message never contains a phone number.
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func inputError(field, format string, args ...any) *InputError {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// touchItem is one touch as sent. Pointers tell absent or null apart from
// empty, although both mean "not given".
type touchItem struct {
	TouchID   *string `json:"touch_id"`
	Phone     *string `json:"phone"`
	LeadID    *string `json:"lead_id"`
	Action    *string `json:"action"`
	At        *string `json:"at"`
	UTMSource *string `json:"utm_source"`
}

// ParseTouches reads a touches request body: one JSON object or an array of
// 1 to MaxTouches. Decoding is strict (unknown fields, wrong types and
// trailing data are errors) and the first bad touch refuses the whole body
// with an *InputError. actions are the action ids of the points table;
// now bounds times in the future.
func ParseTouches(body []byte, norm Normalizer, actions []string, now time.Time) ([]warehouse.Touch, error) {
	items, isArray, err := splitItems(body)
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(actions))
	for _, a := range actions {
		known[a] = true
	}
	touches := make([]warehouse.Touch, 0, len(items))
	for i, raw := range items {
		prefix := ""
		if isArray {
			prefix = fmt.Sprintf("[%d].", i)
		}
		t, err := parseTouch(raw, prefix, norm, known, now)
		if err != nil {
			return nil, err
		}
		touches = append(touches, t)
	}
	return touches, nil
}

// splitItems accepts one JSON object or a non-empty array of at most
// MaxTouches values.
func splitItems(body []byte) ([]json.RawMessage, bool, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, false, inputError("", "empty body: want a JSON object or an array of them")
	}
	switch trimmed[0] {
	case '{':
		return []json.RawMessage{trimmed}, false, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, true, inputError("", "invalid JSON array: %s", jsonReason(err))
		}
		if len(items) == 0 {
			return nil, true, inputError("", "empty array")
		}
		if len(items) > MaxTouches {
			return nil, true, inputError("", "%d touches in one request; at most %d", len(items), MaxTouches)
		}
		return items, true, nil
	}
	return nil, false, inputError("", "want a JSON object or an array of them")
}

func parseTouch(raw json.RawMessage, prefix string, norm Normalizer, known map[string]bool, now time.Time) (warehouse.Touch, error) {
	var it touchItem
	if err := decodeStrict(raw, &it); err != nil {
		return warehouse.Touch{}, decodeError(err, prefix)
	}
	bad := func(field, format string, args ...any) error {
		return inputError(prefix+field, format, args...)
	}
	var t warehouse.Touch
	var err error
	if t.ID, err = text(str(it.TouchID), MaxTouchIDLen); err != nil {
		return t, bad("touch_id", "%v", err)
	}
	if p := str(it.Phone); p != "" {
		if t.Phone, err = norm.Normalize(p); err != nil {
			return t, bad("phone", "not a valid phone number")
		}
	}
	if t.LeadID, err = text(str(it.LeadID), MaxLeadIDLen); err != nil {
		return t, bad("lead_id", "%v", err)
	}
	if t.Phone == "" && t.LeadID == "" {
		return t, bad("phone", "required unless lead_id is given")
	}

	switch t.Action = str(it.Action); {
	case t.Action == "":
		return t, bad("action", "required")
	case !known[t.Action]:
		return t, bad("action", "not in the configured points table (%s)", strings.Join(sortedSet(known), ", "))
	}

	at := str(it.At)
	if at == "" {
		return t, bad("at", "required (RFC 3339 with offset)")
	}
	if t.At, err = time.Parse(time.RFC3339, at); err != nil {
		return t, bad("at", "want RFC 3339 time with offset, e.g. 2026-11-20T09:15:00+03:00")
	}
	switch t.At = t.At.UTC(); {
	case t.At.Before(deal.MinTime) || !t.At.Before(deal.MaxTime):
		return t, bad("at", "outside %d–%d", deal.MinTime.Year(), deal.MaxTime.Year()-1)
	case t.At.After(now.Add(MaxFuture)):
		return t, bad("at", "more than %d hours in the future", int(MaxFuture.Hours()))
	}

	if t.UTMSource, err = text(str(it.UTMSource), MaxUTMSourceLen); err != nil {
		return t, bad("utm_source", "%v", err)
	}
	return t, nil
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields and anything after the value.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errTrailing
	}
	return nil
}

var errTrailing = errors.New("data after the JSON object")

// text checks an optional free-text field.
func text(s string, maxLen int) (string, error) {
	switch {
	case len(s) > maxLen:
		return "", fmt.Errorf("longer than %d bytes", maxLen)
	case strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }):
		return "", errors.New("contains non-printable characters")
	}
	return s, nil
}

func decodeError(err error, prefix string) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field == "" {
			return inputError(strings.TrimSuffix(prefix, "."), "wrong type %s, want a JSON object", typ.Value)
		}
		return inputError(prefix+typ.Field, "wrong type %s, want %s", typ.Value, typ.Type)
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return inputError(prefix+field, "unknown field")
	}
	return inputError(strings.TrimSuffix(prefix, "."), "invalid JSON object: %s", jsonReason(err))
}

// jsonReason describes a decoding error without echoing input values.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, errTrailing):
		return err.Error()
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	}
	return "malformed JSON"
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(*p)
}

func sortedSet(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
