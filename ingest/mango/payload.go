package mango

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// Bounds on what a notification may carry.
const (
	maxIDLen        = 200 // entry_id, call_id, recording_id
	maxExtensionLen = 64
	// Unix times outside [2000-01-01, 2100-01-01) are not Mango's seconds
	// (milliseconds, a duration, garbage) and are refused rather than
	// folded into a call's start or end.
	minUnix = 946684800
	maxUnix = 4102444800
)

// text is a JSON string or number, trimmed; null or absent is "". Mango
// sends extensions and numbers sometimes as strings, sometimes as numbers.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(strings.TrimSpace(s))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[string]()}
		}
		*t = text(n)
	}
	return nil
}

// integer is a JSON integer or a string holding one. set is false for
// null, "" or an absent field.
type integer struct {
	v   int64
	set bool
}

func (n *integer) UnmarshalJSON(b []byte) error {
	s := string(b)
	switch {
	case s == "null":
		*n = integer{}
		return nil
	case b[0] == '"':
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s = strings.TrimSpace(s); s == "" {
			*n = integer{}
			return nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[int64]()}
	}
	*n = integer{v: v, set: true}
	return nil
}

func jsonKind(b []byte) string {
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

// party is the from or to side of a call or leg.
type party struct {
	Extension  text `json:"extension"`
	Number     text `json:"number"`
	LineNumber text `json:"line_number"`
}

// decoder turns one authenticated payload into call events.
type decoder struct {
	p   *Provider
	now time.Time
}

// event starts an event of call id with the given key.
func (d decoder) event(callID, key string) call.Event {
	return call.Event{Provider: Name, CallID: callID, EventKey: key, ReceivedAt: d.now}
}

// decode unmarshals a JSON object payload into v. Unknown fields are
// ignored: Mango adds fields without notice.
func decode(payload string, v any) error {
	b := bytes.TrimSpace([]byte(payload))
	if len(b) == 0 || b[0] != '{' {
		return ingest.BadRequest(fieldJSON, "want a JSON object")
	}
	if err := json.Unmarshal(b, v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return ingest.BadRequest(typ.Field, "wrong type %s, want %s", typ.Value, typ.Type)
		}
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return ingest.BadRequest(fieldJSON, "invalid JSON: syntax error at byte %d", syn.Offset)
		}
		return ingest.BadRequest(fieldJSON, "invalid JSON")
	}
	return nil
}

// id validates a required identifier (entry_id, call_id, recording_id).
func id(field string, v text) (string, error) {
	s := string(v)
	switch {
	case s == "":
		return "", ingest.BadRequest(field, "required")
	case len(s) > maxIDLen:
		return "", ingest.BadRequest(field, "longer than %d bytes", maxIDLen)
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0:
		return "", ingest.BadRequest(field, "contains spaces or non-printable characters")
	}
	return s, nil
}

// unixTime converts unix seconds. Zero or absent is the zero time unless
// the field is required.
func unixTime(field string, n integer, required bool) (time.Time, error) {
	switch {
	case !n.set || n.v == 0:
		if required {
			return time.Time{}, ingest.BadRequest(field, "required (unix seconds)")
		}
		return time.Time{}, nil
	case n.v < minUnix || n.v >= maxUnix:
		return time.Time{}, ingest.BadRequest(field, "not unix seconds between 2000 and 2100")
	}
	return time.Unix(n.v, 0).UTC(), nil
}

// extension validates an employee extension; "" means none.
func extension(field string, v text) (string, error) {
	s := string(v)
	switch {
	case len(s) > maxExtensionLen:
		return "", ingest.BadRequest(field, "longer than %d bytes", maxExtensionLen)
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return "", ingest.BadRequest(field, "contains non-printable characters")
	}
	return s, nil
}

// phone returns a party's number in E.164, or "" when it is not a phone
// number: employees' SIP URIs ("sip:ivanov@example.mangosip.ru"),
// "anonymous", an empty field. Mango cannot send such a call differently,
// so the number is left out rather than the notification refused. A SIP
// URI whose user part is a number ("sip:79161234567@trunk") yields it.
func (d decoder) phone(field string, v text) string {
	s := string(v)
	if s == "" {
		return ""
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		switch strings.ToLower(s[:i]) {
		case "sip", "sips", "tel":
			s = s[i+1:]
			if j := strings.IndexAny(s, "@;"); j >= 0 {
				s = s[:j]
			}
		}
	}
	e164, err := d.p.norm.Normalize(s)
	if err != nil {
		d.p.log.Debug("number is not a phone number; left empty", "field", field)
		return ""
	}
	return e164
}

// key joins the parts of an EventKey.
func key(parts ...string) string { return strings.Join(parts, ":") }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
